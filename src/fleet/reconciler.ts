// Each node's reconciler: watches the placements for its own name, deploys what is assigned to
// it through the app runtime (which pulls and verifies the bundle against the node's own
// trusted keys), reports each replica's state in its heartbeat, and removes what is no longer
// placed here once its in-flight requests finish. A failure is reported, not retried here: the
// scheduler records it and places the replica elsewhere. A node that was just cut off from the
// fleet (an edge site whose uplink came back) reads placements the scheduler made while it was
// away, without it: it holds its ready replicas for a grace period instead of dropping them,
// and the scheduler, seeing it alive again, places them back here if it still wants them.

import type { Placement, ReplicaReport } from './messages.js';
import type { AppRuntime } from './seams.js';
import type { Logger } from '../telemetry/index.js';

export interface HoldOptions {
  /** Whether this node was cut off from the fleet lately (its heartbeats failed). */
  cutOffLately: () => boolean;
  /** How long a replica placed away meanwhile is held before it is removed. */
  graceMs: number;
  clock?: () => number;
}

export class Reconciler {
  private readonly replicas = new Map<string, ReplicaReport>();
  /** Ready replicas held after their placement left this node, since when. */
  private readonly held = new Map<string, number>();
  private busy: Promise<void> = Promise.resolve();
  private again = false;
  private running = false;

  constructor(
    private readonly node: string,
    private readonly runtime: AppRuntime,
    private readonly placements: () => Iterable<Placement>,
    /** Called when a replica changes state, so the heartbeat goes out at once. */
    private readonly changed: () => void,
    private readonly log: Logger,
    private readonly hold: HoldOptions = { cutOffLately: () => false, graceMs: 0 },
  ) {}

  reports(): ReplicaReport[] {
    return [...this.replicas.values()].sort((a, b) => a.app.localeCompare(b.app));
  }

  /** Runs one pass now, or right after the running one. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.busy;
    }
    this.running = true;
    this.busy = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = false;
      }
    })();
    return this.busy;
  }

  private set(report: ReplicaReport): void {
    this.replicas.set(report.app, report);
    this.changed();
  }

  private async pass(): Promise<void> {
    const wanted = new Map<string, Placement>();
    const placedElsewhere = new Set<string>();
    for (const p of this.placements()) {
      if (p.assigned.some((a) => a.node === this.node)) wanted.set(p.app, p);
      else placedElsewhere.add(p.app);
    }
    const now = (this.hold.clock ?? Date.now)();
    for (const [app, report] of [...this.replicas]) {
      const want = wanted.get(app);
      if (want !== undefined && want.digest === report.digest) {
        this.held.delete(app);
        continue;
      }
      if (want === undefined && placedElsewhere.has(app) && report.state === 'ready' && (this.held.has(app) || this.hold.cutOffLately())) {
        const since = this.held.get(app) ?? now;
        if (!this.held.has(app)) this.log.info('fleet: holding a replica placed elsewhere while this node was cut off', { app, graceMs: this.hold.graceMs });
        this.held.set(app, since);
        if (now - since < this.hold.graceMs) continue;
      }
      this.held.delete(app);
      if (report.state === 'ready' || report.state === 'loading') {
        this.set({ ...report, state: 'removing' });
        await this.runtime.remove(app).catch((err: Error) => this.log.warn('fleet: removing a replica failed', { app, error: err.message }));
        this.log.info('fleet: replica removed', { app, digest: report.digest });
      }
      this.replicas.delete(app);
      this.changed();
    }
    for (const [app, p] of wanted) {
      if (this.replicas.has(app)) continue;
      const outside = this.runtime.list().find((a) => a.name === app);
      if (outside !== undefined) {
        this.set({ app, digest: p.digest, state: 'failed', error: `app '${app}' is already deployed on this node outside the fleet` });
        continue;
      }
      this.set({ app, digest: p.digest, state: 'loading' });
      try {
        const deployed = await this.runtime.deploy(p.ref);
        if (deployed.digest !== p.digest || deployed.name !== app) {
          await this.runtime.remove(deployed.name).catch(() => undefined);
          throw new Error(`${p.ref} now holds ${deployed.name} ${deployed.digest}, not the ${app} ${p.digest} the fleet placed (was the tag moved? deploy it again)`);
        }
        this.set({ app, digest: p.digest, state: 'ready' });
        this.log.info('fleet: replica ready', { app, digest: p.digest });
      } catch (err) {
        const error = (err as Error).message;
        this.set({ app, digest: p.digest, state: 'failed', error });
        this.log.warn('fleet: replica failed to load', { app, ref: p.ref, error });
      }
    }
  }

  /** Removes every replica (node leaving the fleet). */
  async removeAll(): Promise<void> {
    await this.busy;
    for (const [app, r] of [...this.replicas]) if (r.state !== 'failed') await this.runtime.remove(app).catch(() => undefined);
    this.replicas.clear();
  }
}
