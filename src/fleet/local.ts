// A node started without --fleet is a fleet of one, in process: `weft nodes` lists it, `weft
// status` its apps, and `weft deploy` / `weft undeploy` place apps on it with the same checks a
// fleet makes (the bundle's facts, the same placement function against this node's budget), so
// a user can start alone and join a fleet later without learning other commands. One node holds
// one replica of an app: replicas asked for beyond it stay pending, with the reason.

import { ErrorCode, WeftError } from '../errors.js';
import { sameSpec, specFrom, type DeployRequest, type FleetControl, type NodesAnswer } from './control.js';
import { Inventory, type Identity } from './inventory.js';
import type { AppSpec, NodeRecord, Placement, ReplicaReport } from './messages.js';
import { place, type PowerPolicy } from './placement.js';
import { nodeView } from './scheduler.js';
import type { AppRuntime, BundleInspector, Gpu, InventorySource } from './seams.js';
import { appStatus, type AppStatus } from './view.js';

export interface LocalFleetOptions {
  identity: Identity;
  source: InventorySource;
  runtime: AppRuntime;
  gpus: readonly Gpu[];
  inspect: BundleInspector;
  policy: PowerPolicy;
  /** How often the node's record is read again (its --heartbeat-interval). */
  refreshMs: number;
  clock?: () => number;
}

/** An app deployed through the fleet API on this node. */
interface Deployed {
  spec: AppSpec;
  placement: Placement;
  /** The app's load: the deploy that started it answers with its outcome. */
  load: Promise<unknown>;
  /** Settles when the load did, either way (an undeploy waits for it). */
  settled: Promise<unknown>;
}

export class LocalFleet implements FleetControl {
  private readonly inventory: Inventory;
  private readonly deployed = new Map<string, Deployed>();
  private readonly clock: () => number;
  private last: NodeRecord | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Placement checks one at a time, so two deploys never book the same memory. */
  private placing: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LocalFleetOptions) {
    this.clock = options.clock ?? Date.now;
    this.inventory = new Inventory(options.identity, options.source, options.runtime, options.gpus, () => this.reports(), this.clock);
    const refresh = () => void this.refresh().catch(() => undefined);
    refresh();
    this.timer = setInterval(refresh, options.refreshMs).unref();
  }

  async deploy(request: DeployRequest): Promise<{ app: AppStatus; created: boolean }> {
    const spec = specFrom(request, await this.options.inspect(request.ref), this.clock());
    const entry = await this.serialized(() => this.reserve(spec));
    if (entry === undefined) return { app: this.status(spec.name), created: false };
    try {
      await entry.load;
    } catch (err) {
      // Nothing of an app that failed to load is kept: the caller gets the load's own error.
      this.deployed.delete(spec.name);
      throw err;
    }
    await this.refresh();
    if (this.deployed.get(spec.name) !== entry) throw new WeftError(ErrorCode.Conflict, `app '${spec.name}' was undeployed while it loaded`);
    return { app: this.status(spec.name), created: true };
  }

  async undeploy(name: string): Promise<void> {
    const entry = this.deployed.get(name);
    if (entry !== undefined) {
      await entry.settled;
      this.deployed.delete(name);
    } else if (!this.options.runtime.list().some((a) => a.name === name)) {
      throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    }
    await this.options.runtime.remove(name);
    await this.refresh();
  }

  status(name: string): AppStatus {
    const app = this.apps().find((a) => a.name === name);
    if (app === undefined) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    return app;
  }

  apps(): AppStatus[] {
    const record = this.current();
    const records = new Map(record === undefined ? [] : [[record.node, record]]);
    const placed = [...this.deployed.values()].map((e) => appStatus(e.spec, e.placement, records));
    // Apps the node was started with (--app) or given through POST /admin/apps.
    const own = this.options.runtime
      .list()
      .filter((a) => !this.deployed.has(a.name))
      .map((a) => ({
        name: a.name,
        ref: a.ref,
        digest: a.digest,
        memoryBytes: 0,
        replicas: { min: 1, max: 1, target: 1, ready: 1 },
        constraints: { require: [], select: {} },
        placed: [{ node: record?.node ?? this.options.identity.node, site: record?.site ?? this.options.identity.site, state: 'ready' as const }],
        pending: '',
        failed: {},
        health: 'healthy' as const,
      }));
    return [...placed, ...own].sort((a, b) => a.name.localeCompare(b.name));
  }

  nodes(): NodesAnswer {
    const record = this.current();
    const nodes = record === undefined ? [] : [{ record, replicas: this.options.runtime.list().length, idle: false, scheduler: true }];
    return { fleet: false, policy: this.options.policy, scheduler: record?.node, nodes };
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Checks the spec against what is deployed and what fits, then starts its load; undefined when
   * the same spec is deployed already (no change).
   */
  private async reserve(spec: AppSpec): Promise<Deployed | undefined> {
    const held = this.deployed.get(spec.name);
    if (held !== undefined) {
      if (sameSpec(held.spec, spec)) return undefined;
      throw new WeftError(ErrorCode.AppExists, `app '${spec.name}' is already deployed on this node (from ${held.spec.ref}, ${held.spec.digest}); \`weft undeploy ${spec.name}\` first`, { field: 'ref' });
    }
    const own = this.options.runtime.list().find((a) => a.name === spec.name);
    if (own !== undefined && own.digest !== spec.digest) {
      throw new WeftError(ErrorCode.AppExists, `app '${spec.name}' is already served by this node (${own.digest}); \`weft undeploy ${spec.name}\` first`, { field: 'ref' });
    }
    const record = await this.inventory.record();
    const now = this.clock();
    const apps = [...this.deployed.values()].map((e) => ({ spec: e.spec, current: e.placement, target: e.placement.target }));
    // One node runs one replica, whatever the minimum. An app the node serves already is taken
    // over: its models' bytes leave the node's own, as the replica it becomes reserves them.
    const target = Math.max(1, spec.replicas.min);
    const nodes = [nodeView(own === undefined ? record : { ...record, localBytes: Math.max(0, record.localBytes - this.heldBytes(own.models)) })];
    const placement = place({ nodes, apps: [...apps, { spec, current: undefined, target }], policy: this.options.policy, now }).placements.get(spec.name)!;
    if (placement.assigned.length === 0) {
      throw new WeftError(ErrorCode.Unschedulable, `app '${spec.name}' cannot run on this node: ${placement.pending.replace(/^0\/\d+ replicas placed; /, '')}`, { field: 'constraints' });
    }
    const load = own !== undefined ? Promise.resolve() : this.options.runtime.deploy(spec.ref);
    const entry: Deployed = { spec, placement, load, settled: load.catch(() => undefined) };
    this.deployed.set(spec.name, entry);
    return entry;
  }

  /** Bytes the engine holds for these models now. */
  private heldBytes(models: readonly string[]): number {
    const names = new Set(models);
    return this.options.source.models().reduce((n, m) => n + (names.has(m.name) ? m.memoryBytes : 0), 0);
  }

  /** The fleet's replicas on this node, as the inventory reports them. */
  private reports(): ReplicaReport[] {
    const running = new Set(this.options.runtime.list().map((a) => `${a.name} ${a.digest}`));
    return [...this.deployed.values()].map((e) => ({ app: e.spec.name, digest: e.spec.digest, state: running.has(`${e.spec.name} ${e.spec.digest}`) ? ('ready' as const) : ('loading' as const) }));
  }

  /** The last record with the replicas as they are now. */
  private current(): NodeRecord | undefined {
    return this.last === undefined ? undefined : { ...this.last, replicas: this.reports() };
  }

  private async refresh(): Promise<void> {
    this.last = await this.inventory.record();
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.placing.then(step, step);
    this.placing = run.catch(() => undefined);
    return run;
  }
}
