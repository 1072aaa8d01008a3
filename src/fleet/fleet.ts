// A node joined to a fleet: it heartbeats its inventory into `weft_nodes`, mirrors the fleet's
// buckets, runs a scheduler (active only while it holds the lease) and a reconciler for its own
// replicas, and answers the admin API's fleet requests from what it mirrors.

import type { NatsConnection } from '@nats-io/transport-node';
import { sharedKeySchema, type SharedBuckets, type SharedKey, type SharedKeyRecords, type SharedUsage } from '../auth/index.js';
import type { NodeConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { withoutUrlCredentials, type Logger } from '../telemetry/index.js';
import { connectFleet, type FleetBuckets } from './connect.js';
import { sameSpec, specFrom, type DeployRequest, type FleetControl, type NodesAnswer } from './control.js';
import { Inventory } from './inventory.js';
import { appSpecSchema, encode, leaseSchema, nodeRecordSchema, placementSchema, type AppSpec, type NodeRecord } from './messages.js';
import { BucketMirror } from './mirror.js';
import { LEASE_KEY } from './namespace.js';
import { place } from './placement.js';
import { Reconciler } from './reconciler.js';
import { FleetTenantBuckets, FleetUsageCounters } from './tenant-buckets.js';
import { FleetInflight } from './tenant-inflight.js';
import { nodeView, Scheduler } from './scheduler.js';
import type { AppRuntime, BundleInspector, DeviceDiscovery, InventorySource } from './seams.js';
import { appStatus, nodeStatus, type AppStatus } from './view.js';

export interface JoinOptions {
  config: Readonly<NodeConfig>;
  /** Base URL of this node's HTTP API. */
  url: string;
  version: string;
  runtime: AppRuntime;
  source: InventorySource;
  discover: DeviceDiscovery;
  inspect: BundleInspector;
  log: Logger;
  clock?: () => number;
}

/** What routing needs of a joined fleet. */
export interface FleetMesh {
  nc: NatsConnection;
  liveNodes(): Map<string, NodeRecord>;
}

/** A node whose heartbeat failed within this many intervals was cut off lately (reconciler.ts). */
const CUT_OFF_MEMORY = 10;
/** How many intervals such a node holds a replica the scheduler placed elsewhere meanwhile. */
const HOLD_INTERVALS = 5;

export class JoinedFleet implements FleetControl {
  private readonly nodesMirror: BucketMirror<NodeRecord>;
  private readonly specs: BucketMirror<AppSpec>;
  private readonly placements;
  private readonly lease;
  private readonly keyRecords: BucketMirror<SharedKey>;
  /** Tenants' rate and token buckets, shared by every node. */
  readonly tenantBuckets: SharedBuckets;
  /** Tenants' monthly usage, shared by every node. */
  readonly usageCounters: SharedUsage;
  /** Capped tenants' requests in flight on every node. */
  readonly tenantInflight: FleetInflight;
  private readonly scheduler: Scheduler;
  private readonly reconciler: Reconciler;
  private readonly inventory: Inventory;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private passQueued: NodeJS.Timeout | undefined;
  private passing: Promise<void> = Promise.resolve();
  private publishWarned = false;
  /** When a heartbeat last failed: the node was cut off from the fleet's servers. */
  private heartbeatFailedAt = -Infinity;
  /** Revision of this node's last heartbeat, and ticks its echo has been missing from the mirror. */
  private published = 0;
  private stale = 0;
  private closed = false;

  private constructor(
    private readonly buckets: FleetBuckets,
    private readonly options: JoinOptions,
    gpus: Awaited<ReturnType<DeviceDiscovery>>,
  ) {
    const { config, log } = options;
    this.clock = options.clock ?? Date.now;
    const soon = () => this.schedulePass();
    this.nodesMirror = new BucketMirror(buckets.nodes, 'weft_nodes', nodeRecordSchema, log, soon);
    this.specs = new BucketMirror(buckets.apps, 'weft_apps', appSpecSchema, log, soon);
    this.placements = new BucketMirror(buckets.placements, 'weft_placements', placementSchema, log, () => void this.reconciler.kick());
    this.lease = new BucketMirror(buckets.lease, 'weft_lease', leaseSchema, log);
    this.keyRecords = new BucketMirror(buckets.keys, 'weft_keys', sharedKeySchema, log);
    this.tenantBuckets = new FleetTenantBuckets(buckets.quota, log);
    this.usageCounters = new FleetUsageCounters(buckets.usage, log);
    this.tenantInflight = new FleetInflight(buckets.inflight, config.nodeName, config.heartbeatInterval, log, this.clock);
    this.scheduler = new Scheduler({
      node: config.nodeName,
      policy: config.powerPolicy,
      lease: this.lease,
      apps: this.specs,
      placements: this.placements,
      nodes: () => this.liveNodes(),
      scale: { queueHigh: 4, latencyHighMs: 0, cooldownMs: config.scaleCooldown },
      log,
      clock: this.clock,
    });
    this.reconciler = new Reconciler(config.nodeName, options.runtime, () => [...this.placements.entries.values()].map((e) => e.value), () => void this.publish(), log, {
      cutOffLately: () => this.clock() - this.heartbeatFailedAt < CUT_OFF_MEMORY * config.heartbeatInterval,
      graceMs: HOLD_INTERVALS * config.heartbeatInterval,
      clock: this.clock,
    });
    this.inventory = new Inventory(
      { node: config.nodeName, site: config.site, labels: config.label, url: options.url, version: options.version, powerBudget: config.powerBudget },
      options.source,
      options.runtime,
      gpus,
      () => this.reconciler.reports(),
      this.clock,
    );
  }

  static async join(options: JoinOptions): Promise<JoinedFleet> {
    const buckets = await connectFleet(options.config, options.log);
    const fleet = new JoinedFleet(buckets, options, await options.discover());
    await Promise.all(fleet.mirrors.map((m) => m.start()));
    // Two live nodes under one name would overwrite each other's record and share placements.
    const namesake = fleet.liveNodes().get(options.config.nodeName);
    if (namesake !== undefined && namesake.url !== options.url) {
      for (const m of fleet.mirrors) m.stop();
      await buckets.nc.close().catch(() => undefined);
      throw new WeftError(ErrorCode.InvalidConfig, `a node named '${options.config.nodeName}' is already in the fleet (${namesake.url}, site ${namesake.site}); give this one another --node-name`, { field: 'nodeName' });
    }
    await fleet.tick();
    void fleet.followStatus();
    fleet.timer = setInterval(() => void fleet.tick(), options.config.heartbeatInterval);
    fleet.timer.unref();
    options.log.info('fleet: joined', { node: options.config.nodeName, site: options.config.site, servers: withoutUrlCredentials(options.config.fleet.join(',')) });
    return fleet;
  }

  /**
   * A watch whose consumer lived on a server that died stays silent until the client notices
   * (its idle heartbeat is 30 s). Our own heartbeat must come back through the nodes watch
   * within an interval or two; the other buckets' watches start again after ten quiet
   * intervals (each restart re-reads the bucket's current values, cheap for desired state).
   */
  private watchdog(previous: number): void {
    const interval = this.options.config.heartbeatInterval;
    const echoed = this.nodesMirror.get(this.options.config.nodeName)?.revision ?? 0;
    this.stale = previous > 0 && echoed < previous ? this.stale + 1 : 0;
    if (this.stale >= 2) {
      this.options.log.info('fleet: the node watch went quiet; watching every bucket again');
      this.stale = 0;
      for (const m of this.mirrors) m.restart();
      return;
    }
    const quiet = Date.now() - 10 * interval;
    for (const m of this.mirrors) if (m !== this.nodesMirror && m.lastHeard < quiet) m.restart();
  }

  /** After a reconnect (a server lost), every watch starts again from the current values. */
  private async followStatus(): Promise<void> {
    for await (const s of this.buckets.nc.status()) {
      if (this.closed) return;
      if (s.type !== 'reconnect') continue;
      this.options.log.info('fleet: reconnected to NATS; watching the buckets again', { server: s.server });
      for (const m of this.mirrors) m.restart();
    }
  }

  private get mirrors(): Array<BucketMirror<unknown>> {
    return [this.nodesMirror, this.specs, this.placements, this.lease, this.keyRecords, this.tenantInflight.mirror] as Array<BucketMirror<unknown>>;
  }

  /** The fleet's API keys, for the node's key store: written to the bucket, read from the mirror. */
  get keys(): SharedKeyRecords {
    const mirror = this.keyRecords;
    return {
      get: (id) => mirror.get(id)?.value,
      list: () => [...mirror.entries.values()].map((e) => e.value),
      size: () => mirror.entries.size,
      put: async (record) => {
        const revision = await mirror.kv.create(record.id, encode(record));
        mirror.entries.set(record.id, { value: record, revision, created: this.clock() });
      },
      delete: async (id) => {
        await mirror.kv.delete(id);
        mirror.entries.delete(id);
      },
    };
  }

  get mesh(): FleetMesh {
    return { nc: this.buckets.nc, liveNodes: () => this.liveNodes() };
  }

  /** Nodes whose last heartbeat is younger than three intervals. */
  liveNodes(): Map<string, NodeRecord> {
    const horizon = this.clock() - 3 * this.options.config.heartbeatInterval;
    const live = new Map<string, NodeRecord>();
    for (const [key, e] of this.nodesMirror.entries) if (e.created >= horizon && key === e.value.node) live.set(key, e.value);
    return live;
  }

  private async publish(): Promise<void> {
    if (this.closed) return;
    try {
      const record = await this.inventory.record();
      this.published = await this.buckets.nodes.put(record.node, encode(record));
      this.publishWarned = false;
    } catch (err) {
      this.heartbeatFailedAt = this.clock();
      if (!this.publishWarned) this.options.log.warn('fleet: heartbeat failed (logged once until it works again)', { error: (err as Error).message });
      this.publishWarned = true;
    }
  }

  private async tick(): Promise<void> {
    const before = this.published;
    await this.publish();
    this.tenantInflight.refresh();
    this.watchdog(before);
    if (await this.scheduler.holdLease()) this.schedulePass(0);
    void this.reconciler.kick();
  }

  private schedulePass(delayMs = 50): void {
    if (this.closed || !this.scheduler.active || this.passQueued !== undefined) return;
    this.passQueued = setTimeout(() => {
      this.passQueued = undefined;
      this.passing = this.passing.then(() => this.scheduler.pass()).catch((err: Error) => this.options.log.warn('fleet: scheduling pass failed', { error: err.message }));
    }, delayMs);
  }

  async deploy(request: DeployRequest): Promise<{ app: AppStatus; created: boolean }> {
    const spec = specFrom(request, await this.options.inspect(request.ref), this.clock());
    this.checkPlaceable(spec);
    const { kv } = this.specs;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const revision = await kv.create(spec.name, encode(spec));
        this.specs.entries.set(spec.name, { value: spec, revision, created: this.clock() });
        this.schedulePass(0);
        return { app: this.status(spec.name), created: true };
      } catch {
        // The key exists: the same spec is no change; another one is a conflict, never overwritten.
        const held = await this.specs.refresh(spec.name);
        if (held === undefined) {
          const raw = await kv.get(spec.name);
          if (raw !== null && raw.operation === 'PUT') {
            // A malformed value holds the key: replace it, revision-checked.
            await kv.update(spec.name, encode(spec), raw.revision).catch(() => undefined);
          }
          continue;
        }
        if (sameSpec(held.value, spec)) return { app: this.status(spec.name), created: false };
        throw new WeftError(ErrorCode.AppExists, `app '${spec.name}' is already deployed in the fleet (from ${held.value.ref}, ${held.value.digest}); \`weft undeploy ${spec.name}\` first`, { field: 'ref' });
      }
    }
    throw new WeftError(ErrorCode.Conflict, `app '${spec.name}' kept changing while it was deployed; try again`, { field: 'ref' });
  }

  /** Refuses constraints no live node could ever meet, even with nothing else deployed. */
  private checkPlaceable(spec: AppSpec): void {
    const nodes = [...this.liveNodes().values()].map(nodeView);
    const target = Math.max(1, spec.replicas.min);
    const { placements } = place({ nodes, apps: [{ spec, current: undefined, target }], policy: 'spread', now: this.clock() });
    const p = placements.get(spec.name)!;
    if (p.assigned.length === 0) {
      throw new WeftError(ErrorCode.Unschedulable, `app '${spec.name}' cannot run on this fleet as it is: ${p.pending.replace(/^0\/\d+ replicas placed; /, '')}`, { field: 'constraints' });
    }
  }

  async undeploy(name: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const held = await this.specs.kv.get(name);
      if (held === null || held.operation !== 'PUT') throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed in the fleet`);
      try {
        await this.specs.kv.delete(name, { previousSeq: held.revision });
        this.specs.entries.delete(name);
        this.schedulePass(0);
        return;
      } catch {
        // Changed between read and delete: read again.
      }
    }
    throw new WeftError(ErrorCode.Conflict, `app '${name}' kept changing while it was undeployed; try again`);
  }

  status(name: string): AppStatus {
    const spec = this.specs.get(name)?.value;
    if (spec === undefined) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed in the fleet`);
    return appStatus(spec, this.placements.get(name)?.value, this.liveNodes());
  }

  apps(): AppStatus[] {
    const live = this.liveNodes();
    return [...this.specs.entries.values()].map((e) => appStatus(e.value, this.placements.get(e.value.name)?.value, live)).sort((a, b) => a.name.localeCompare(b.name));
  }

  nodes(): NodesAnswer {
    const lease = this.lease.get(LEASE_KEY)?.value;
    const policy = lease?.policy ?? this.options.config.powerPolicy;
    const placements = [...this.placements.entries.values()].map((e) => e.value);
    return { fleet: true, policy, scheduler: lease?.holder, nodes: nodeStatus(this.liveNodes(), placements, policy, lease?.holder) };
  }

  /** Leaves the fleet: drains, hands the lease back, removes its record so replicas move at once. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.inventory.draining = true;
    await this.publish();
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.passQueued);
    await this.passing;
    await this.scheduler.release();
    await this.buckets.nodes.delete(this.options.config.nodeName).catch(() => undefined);
    for (const m of this.mirrors) m.stop();
    await this.buckets.nc.drain().catch(() => undefined);
  }
}
