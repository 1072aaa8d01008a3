// The fleet's scheduler: every node runs one, exactly one is active — the holder of the lease
// key, renewed with compare-and-set each heartbeat and gone with the bucket's max-age when its
// node dies. The active one autoscales, places (placement.ts) and writes placements, each
// write revision-checked so a scheduler that lost its lease cannot overwrite the new one.

import { encode, type AppSpec, type Lease, type NodeRecord, type Placement } from './messages.js';
import { FLEET_VERSION, LEASE_KEY } from './namespace.js';
import { place, type NodeView, type PowerPolicy } from './placement.js';
import { scaleTarget, type AppLoad, type ScaleOptions } from './autoscale.js';
import type { BucketMirror } from './mirror.js';
import type { Logger } from '../telemetry/index.js';

export interface SchedulerOptions {
  node: string;
  policy: PowerPolicy;
  lease: BucketMirror<Lease>;
  apps: BucketMirror<AppSpec>;
  placements: BucketMirror<Placement>;
  /** Live node records. */
  nodes: () => ReadonlyMap<string, NodeRecord>;
  scale: ScaleOptions;
  log: Logger;
  clock?: () => number;
}

function same(a: Placement | undefined, b: Placement): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export function nodeView(r: NodeRecord): NodeView {
  return {
    node: r.node,
    site: r.site,
    labels: r.labels,
    gpus: r.gpus.length,
    budget: r.budget,
    localBytes: r.localBytes,
    bundles: new Set(r.bundles),
    draining: r.draining,
    atPowerBudget: r.power.budgetWatts !== undefined && r.power.watts >= r.power.budgetWatts,
    ready: new Set(r.replicas.filter((x) => x.state === 'ready').map((x) => x.app)),
  };
}

/** How long a node that failed to load an app is left out of its placement before it is tried again. */
export const FAILED_RETRY_MS = 60_000;

/** Drops the failures older than FAILED_RETRY_MS from a placement (in place); returns its failure times. */
export function forgetOldFailures(p: Placement, now: number): Record<string, number> {
  const failedAt = (p.failedAt ??= {});
  for (const node of Object.keys(p.failed)) {
    failedAt[node] ??= now; // recorded by a node that kept no time: counted from now
    if (now - failedAt[node] < FAILED_RETRY_MS) continue;
    delete p.failed[node];
    delete failedAt[node];
  }
  return failedAt;
}

export class Scheduler {
  private leaseRevision: number | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  get active(): boolean {
    return this.leaseRevision !== undefined;
  }

  /** Takes or renews the lease; true while this node holds it. */
  async holdLease(): Promise<boolean> {
    const { lease, node, policy, log } = this.options;
    const value: Lease = { v: FLEET_VERSION, holder: node, since: this.clock(), policy };
    try {
      if (this.leaseRevision !== undefined) {
        const held = lease.get(LEASE_KEY);
        this.leaseRevision = await lease.kv.update(LEASE_KEY, encode({ ...value, since: held?.value.since ?? value.since }), this.leaseRevision);
      } else {
        this.leaseRevision = await lease.kv.create(LEASE_KEY, encode(value));
        log.info('fleet: this node is the scheduler now', { node });
      }
    } catch {
      if (this.leaseRevision !== undefined) log.warn('fleet: lost the scheduler lease', { node });
      this.leaseRevision = undefined;
    }
    return this.active;
  }

  async release(): Promise<void> {
    if (this.leaseRevision === undefined) return;
    const revision = this.leaseRevision;
    this.leaseRevision = undefined;
    await this.options.lease.kv.delete(LEASE_KEY, { previousSeq: revision }).catch(() => undefined);
  }

  /** One scheduling pass: reports read, targets scaled, replicas placed, changes written. */
  async pass(): Promise<void> {
    if (!this.active) return;
    const { apps, placements, policy, log, scale } = this.options;
    const now = this.clock();
    const nodes = this.options.nodes();
    const inputs = [];
    for (const { value: spec } of apps.entries.values()) {
      const current = placements.get(spec.name)?.value;
      const usable = current?.digest === spec.digest ? structuredClone(current) : undefined;
      if (usable !== undefined) {
        // A node that could not pull or load the app is recorded and not tried again for a while:
        // it may be fixed meanwhile (restarted with the trust it lacked, its registry back).
        const failedAt = forgetOldFailures(usable, now);
        usable.assigned = usable.assigned.filter((a) => {
          const report = nodes.get(a.node)?.replicas.find((r) => r.app === spec.name && r.digest === spec.digest);
          if (report?.state !== 'failed') return true;
          usable.failed[a.node] = report.error ?? 'failed';
          failedAt[a.node] = now;
          return false;
        });
      }
      const load: AppLoad = { replicas: 0, busy: 0, queued: 0, p99Ms: 0 };
      for (const a of usable?.assigned ?? []) {
        const record = nodes.get(a.node);
        if (record?.replicas.find((r) => r.app === spec.name)?.state !== 'ready') continue;
        load.replicas++;
        for (const m of record.load) {
          if (!spec.models.includes(m.model)) continue;
          load.queued += m.queued;
          load.busy += m.queued + m.inflight + m.rate;
          load.p99Ms = Math.max(load.p99Ms, m.p99Ms);
        }
      }
      const scaled = scaleTarget(spec.replicas, usable?.target ?? spec.replicas.min, load, usable?.scaledAt ?? 0, now, scale);
      if (usable !== undefined) usable.scaledAt = scaled.scaledAt;
      inputs.push({ spec, current: usable ?? (current === undefined ? undefined : { ...current, assigned: [], failed: {}, scaledAt: now }), target: scaled.target });
    }
    const views = [...nodes.values()].map(nodeView);
    const result = place({ nodes: views, apps: inputs, policy, now });
    for (const [name, next] of result.placements) {
      const held = placements.get(name);
      if (same(held?.value, next) && held?.unreadable !== true) continue;
      await this.write(name, next, held?.revision);
    }
    // Placements of apps no longer desired go; nodes then unload them.
    for (const [name, held] of [...placements.entries]) {
      if (apps.get(name) !== undefined) continue;
      await placements.kv.delete(name, { previousSeq: held.revision }).catch((err: Error) => log.warn('fleet: could not remove a placement', { app: name, error: err.message }));
    }
  }

  private async write(name: string, next: Placement, revision: number | undefined): Promise<void> {
    const { placements, log } = this.options;
    try {
      const rev = revision === undefined ? await placements.kv.create(name, encode(next)) : await placements.kv.update(name, encode(next), revision);
      placements.entries.set(name, { value: next, revision: rev, created: this.clock() });
    } catch (err) {
      // A lost race: read what won and place again on the next pass, never overwrite blindly.
      log.warn('fleet: placement changed under the scheduler; re-reading it', { app: name, error: (err as Error).message });
      await placements.refresh(name).catch(() => undefined);
    }
  }
}
