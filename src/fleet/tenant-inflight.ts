// Each capped tenant's requests in flight, counted fleet-wide (auth/limits.ts's SharedInflight):
// every node writes its own count per tenant, `<tenant>.<node>` in `weft_inflight` — one writer
// per key, so a plain put, no compare-and-set — as it changes (one put per key at a time, the
// latest count sent when it returns) and again each heartbeat while it is not zero; every node
// mirrors the bucket and adds up the other nodes' counts. A count older than three heartbeats
// (its node died or was cut off) counts no more, and the bucket's max-age removes it.

import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { SharedInflight } from '../auth/index.js';
import type { Logger } from '../telemetry/index.js';
import { BucketMirror } from './mirror.js';
import { encode } from './messages.js';
import { Buckets, FLEET_VERSION } from './namespace.js';

const countSchema = z.object({ v: z.literal(FLEET_VERSION), n: z.number().int().nonnegative() });

export class FleetInflight implements SharedInflight {
  readonly mirror: BucketMirror<z.infer<typeof countSchema>>;
  /** This node's counts, and the last of each the bucket took. */
  private readonly mine = new Map<string, number>();
  private readonly sent = new Map<string, number>();
  private readonly sending = new Set<string>();
  /** The other nodes' counts per tenant: node → count and when it was written. */
  private readonly others = new Map<string, Map<string, { n: number; at: number }>>();
  private warned = false;

  constructor(
    private readonly kv: KV,
    private readonly node: string,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.mirror = new BucketMirror(kv, Buckets.inflight, countSchema, log, (key) => this.changed(key));
  }

  /** Keeps the per-tenant index of the mirror (node names hold no dot; tenants may). */
  private changed(key: string): void {
    const dot = key.lastIndexOf('.');
    const tenant = key.slice(0, dot);
    const node = key.slice(dot + 1);
    if (dot <= 0 || node === this.node) return;
    const entry = this.mirror.get(key);
    let nodes = this.others.get(tenant);
    if (entry === undefined) {
      nodes?.delete(node);
      if (nodes?.size === 0) this.others.delete(tenant);
      return;
    }
    if (nodes === undefined) this.others.set(tenant, (nodes = new Map()));
    nodes.set(node, { n: entry.value.n, at: entry.created });
  }

  elsewhere(tenant: string): number {
    const horizon = this.clock() - 3 * this.heartbeatMs;
    let sum = 0;
    for (const { n, at } of this.others.get(tenant)?.values() ?? []) if (at >= horizon) sum += n;
    return sum;
  }

  report(tenant: string, inflight: number): void {
    this.mine.set(tenant, inflight);
    void this.send(tenant);
  }

  /** Each heartbeat: counts not zero are written again (so they do not age out), and any the bucket did not take. */
  refresh(): void {
    for (const [tenant, n] of this.mine) if (n > 0 || this.sent.get(tenant) !== n) void this.send(tenant);
  }

  private async send(tenant: string): Promise<void> {
    if (this.sending.has(tenant)) return; // the put in flight sends the latest count when it returns
    this.sending.add(tenant);
    try {
      for (;;) {
        const n = this.mine.get(tenant) ?? 0;
        await this.kv.put(`${tenant}.${this.node}`, encode({ v: FLEET_VERSION, n }));
        this.sent.set(tenant, n);
        if ((this.mine.get(tenant) ?? 0) !== n) continue;
        if (n === 0) {
          this.mine.delete(tenant);
          this.sent.delete(tenant);
        }
        return;
      }
    } catch (err) {
      // The next report or heartbeat tries again.
      if (!this.warned) this.log.warn("fleet: the tenants' in-flight counts could not be written; retrying each heartbeat", { error: (err as Error).message });
      this.warned = true;
    } finally {
      this.sending.delete(tenant);
    }
  }
}
