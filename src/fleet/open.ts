// Opens this node's fleet: joined over NATS when --fleet names servers, else a fleet of one in
// process. node.ts calls this once the HTTP server listens (the URL goes into the inventory).

import type { KeyObject } from 'node:crypto';
import type { SharedBuckets, SharedInflight, SharedKeyRecords, SharedUsage } from '../auth/index.js';
import { storeOf } from '../bundle/index.js';
import type { NodeConfig } from '../config/index.js';
import type { Logger } from '../telemetry/index.js';
import { bundleInspector } from './bundle-facts.js';
import type { FleetControl } from './control.js';
import { JoinedFleet } from './fleet.js';
import { nvidiaSmiDiscovery } from './gpus.js';
import { LocalFleet } from './local.js';
import type { AppRuntime, DeviceDiscovery } from './seams.js';
import type { FleetMesh } from './fleet.js';
import { statsInventory, type ModelHolding, type StatsLike } from './stats-source.js';

export interface FleetParts {
  config: Readonly<NodeConfig>;
  /** Base URL of this node's HTTP API. */
  url: string;
  version: string;
  runtime: AppRuntime;
  trustedKeys: readonly KeyObject[];
  /** Model memory budget per device, bytes. */
  budget: { cpu: number; cuda: number };
  /** Every model version the engine holds (its status). */
  models: () => readonly ModelHolding[];
  /** Telemetry's live stats (what `weft top` shows). */
  stats: () => StatsLike;
  log: Logger;
  /** GPU discovery; nvidia-smi when omitted. */
  discover?: DeviceDiscovery;
}

export interface FleetHandle extends FleetControl {
  /** Leaves the fleet: replicas move elsewhere, the lease is handed back. */
  leave(): Promise<void>;
  /** The NATS connection and live records the router forwards over; absent on a fleet of one. */
  readonly mesh?: FleetMesh;
  /** The fleet's API keys, shared by every node; absent on a fleet of one. */
  readonly keys?: SharedKeyRecords;
  /** Tenants' rate and token buckets, counted fleet-wide; absent on a fleet of one. */
  readonly tenantBuckets?: SharedBuckets;
  /** Tenants' monthly usage, counted fleet-wide; absent on a fleet of one. */
  readonly usageCounters?: SharedUsage;
  /** Capped tenants' requests in flight on every node; absent on a fleet of one. */
  readonly tenantInflight?: SharedInflight;
}

export async function openFleet(parts: FleetParts): Promise<FleetHandle> {
  const { config } = parts;
  const store = storeOf(config).store;
  const source = statsInventory({
    budget: parts.budget,
    models: parts.models,
    stats: parts.stats,
    bundles: async () => [...new Set((await store.tags().catch(() => [])).map((t) => t.digest))],
    idleWatts: config.idleWatts,
  });
  const discover = parts.discover ?? nvidiaSmiDiscovery(config.nvidiaSmi);
  if (config.fleet.length === 0) {
    const identity = { node: config.nodeName, site: config.site, labels: config.label, url: parts.url, version: parts.version, powerBudget: config.powerBudget };
    const local = new LocalFleet({
      identity,
      source,
      runtime: parts.runtime,
      gpus: await discover(),
      inspect: bundleInspector(config, parts.trustedKeys),
      policy: config.powerPolicy,
      refreshMs: config.heartbeatInterval,
    });
    return Object.assign(local, { leave: async () => local.close() });
  }
  return JoinedFleet.join({
    config,
    url: parts.url,
    version: parts.version,
    runtime: parts.runtime,
    source,
    discover,
    inspect: bundleInspector(config, parts.trustedKeys),
    log: parts.log,
  });
}
