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

export function registryCredentials(registry: string, config: Readonly<NodeConfig>): Credentials | undefined {
  if (config.registryUsername !== undefined) return { username: config.registryUsername, password: config.registryPassword ?? '' };
  return dockerConfigCredentials(config.dockerConfig, registry);
}

export function connectRegistry(ref: string | RegistryReference, config: Readonly<NodeConfig>, mountFrom?: string): RegistryTarget {
  const parsed = typeof ref === 'string' ? parseRegistryReference(ref) : ref;
  return new RegistryTarget(parsed, {
    credentials: registryCredentials(parsed.registry, config),
    plainHttp: isLoopback(parsed.registry) || config.insecureRegistries.includes(parsed.registry),
    monolithicLimit: config.uploadChunkSize,
    chunkSize: config.uploadChunkSize,
    mountFrom,
  });
}
