// Connects to the fleet's NATS servers with the credentials a NATS client usually takes
// (creds file, user and password, token, a CA file for TLS) and opens the fleet's buckets,
// creating any that are missing (desired state, placements, API keys, tenants' quota, monthly usage and requests in flight), node records and the lease with a max-age (the liveness TTL,
// which works on servers without per-key TTL, 2.9 and later).

import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { NodeConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { Buckets } from './namespace.js';
import { withoutUrlCredentials, type Logger } from '../telemetry/index.js';

/** An untouched tenant bucket is dropped after this; it comes back full, as it would have refilled. */
const QUOTA_MAX_AGE_MS = 3_600_000;
/** A month's usage counter outlives its month by a month (keys carry the month), then goes. */
const USAGE_MAX_AGE_MS = 62 * 86_400_000;

export interface FleetBuckets {
  nc: NatsConnection;
  nodes: KV;
  apps: KV;
  placements: KV;
  lease: KV;
  keys: KV;
  quota: KV;
  usage: KV;
  inflight: KV;
}

export function connectionOptions(config: Readonly<NodeConfig>): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: [...config.fleet],
    name: `weft ${config.nodeName}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
  if (config.natsCreds !== undefined) options.authenticator = credsAuthenticator(readFileSync(config.natsCreds));
  if (config.natsUser !== undefined) options.user = config.natsUser;
  if (config.natsPassword !== undefined) options.pass = config.natsPassword;
  if (config.natsToken !== undefined) options.token = config.natsToken;
  if (config.natsCa !== undefined) options.tls = { caFile: config.natsCa };
  return options;
}

async function bucket(kvm: Kvm, name: string, options: Partial<KvOptions>, log: Logger): Promise<KV> {
  try {
    return await kvm.create(name, options);
  } catch (err) {
    // Made by another node with other settings (a different heartbeat): use it as it is.
    log.warn('fleet: bucket exists with other settings; using it as it is', { bucket: name, error: (err as Error).message });
    return kvm.open(name);
  }
}

export async function connectFleet(config: Readonly<NodeConfig>, log: Logger): Promise<FleetBuckets> {
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(config));
  } catch (err) {
    throw new WeftError(ErrorCode.FleetUnavailable, `cannot join the fleet at ${withoutUrlCredentials(config.fleet.join(','))}: ${withoutUrlCredentials((err as Error).message)}`, { field: 'fleet', cause: err });
  }
  try {
    // An edge node on a leaf server with its own JetStream domain reaches the hub's buckets by the hub's domain.
    const kvm = new Kvm(config.natsDomain === undefined ? nc : jetstream(nc, { domain: config.natsDomain }));
    const ttl = config.heartbeatInterval * 3;
    const replicas = config.fleetReplicas;
    return {
      nc,
      nodes: await bucket(kvm, Buckets.nodes, { history: 1, ttl, replicas }, log),
      apps: await bucket(kvm, Buckets.apps, { history: 1, replicas }, log),
      placements: await bucket(kvm, Buckets.placements, { history: 1, replicas }, log),
      lease: await bucket(kvm, Buckets.lease, { history: 1, ttl, replicas }, log),
      keys: await bucket(kvm, Buckets.keys, { history: 1, replicas }, log),
      quota: await bucket(kvm, Buckets.quota, { history: 1, ttl: QUOTA_MAX_AGE_MS, replicas }, log),
      usage: await bucket(kvm, Buckets.usage, { history: 1, ttl: USAGE_MAX_AGE_MS, replicas }, log),
      inflight: await bucket(kvm, Buckets.inflight, { history: 1, ttl, replicas }, log),
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new WeftError(ErrorCode.FleetUnavailable, `the fleet's NATS servers (${withoutUrlCredentials(config.fleet.join(','))}) have no usable JetStream: ${withoutUrlCredentials((err as Error).message)}`, { field: 'fleet', cause: err });
  }
}
