// Builds a RegistryTarget from a reference and the node config: credentials from flags/env,
// then the Docker config file; plain http for loopback and configured insecure hosts.

import type { NodeConfig } from '../../config/index.js';
import { dockerConfigCredentials, type Credentials } from './auth.js';
import { parseRegistryReference, type RegistryReference } from './reference.js';
import { RegistryTarget } from './registry-target.js';

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export interface ConnectOptions {
  /** Another repository on the same registry to mount blobs from. */
  mountFrom?: string | undefined;
  /** The registry a push or pull command names: flag credentials go to it when --registry-host is unset. */
  commandTarget?: boolean;
}

/**
 * The credentials for one registry. Flag credentials belong to one registry only (--registry-host,
 * else the one a push or pull command names), so a node that pulls from many never hands them to
 * another; the Docker config's `auths` are keyed by registry already.
 */
export function registryCredentials(registry: string, config: Readonly<NodeConfig>, commandTarget = false): Credentials | undefined {
  if (config.registryUsername !== undefined) {
    const theirs = config.registryHost === undefined ? commandTarget : config.registryHost === registry;
    if (theirs) return { username: config.registryUsername, password: config.registryPassword ?? '' };
  }
  return dockerConfigCredentials(config.dockerConfig, registry);
}

/** Registries whose token service lives on another host of the same operator. */
const KNOWN_TOKEN_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'registry-1.docker.io': ['auth.docker.io'],
};

export function connectRegistry(ref: string | RegistryReference, config: Readonly<NodeConfig>, options: ConnectOptions = {}): RegistryTarget {
  const parsed = typeof ref === 'string' ? parseRegistryReference(ref) : ref;
  return new RegistryTarget(parsed, {
    credentials: registryCredentials(parsed.registry, config, options.commandTarget),
    tokenHosts: [...(KNOWN_TOKEN_HOSTS[parsed.registry] ?? []), ...config.registryTokenHosts],
    plainHttp: isLoopback(parsed.registry) || config.insecureRegistries.includes(parsed.registry),
    monolithicLimit: config.uploadChunkSize,
    chunkSize: config.uploadChunkSize,
    mountFrom: options.mountFrom,
    timeout: config.registryTimeout,
    idleTimeout: config.registryIdleTimeout,
  });
}
