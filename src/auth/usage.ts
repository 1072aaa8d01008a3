// What each tenant used this calendar month (UTC) — language-model tokens and joules — for the
// monthly budgets a key or the node sets (`monthlyTokens`, `monthlyJoules` in limits.ts). Usage is
// added as requests finish (tokens) and as their energy settles (joules). A single node keeps it
// across restarts in <data-dir>/usage.json, written at most once a second and at stop, replaced
// whole (a crash loses at most the last second). In a fleet the counters live in the fleet's
// `weft_usage` bucket instead: each second a node adds what it counted since its last flush, with
// a revision-checked update, so nothing is counted twice, and what the bucket could not take
// waits for the next flush. A node sees the others' usage as of its last read (at most a second
// old): a fleet may pass a budget by about a second of a tenant's traffic, and never refuses early.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../telemetry/index.js';

export type UsageKind = 'tokens' | 'joules';

/** The fleet's usage counters (src/fleet implements them over JetStream KV). */
export interface SharedUsage {
  /** Adds `amount` to the counter (0: only reads it) and resolves with its total. */
  add(key: string, amount: number): Promise<number>;
}

export const USAGE_FILE = 'usage.json';
/** How often counted usage is written out (the file, or the fleet's bucket). */
const FLUSH_MS = 1000;
/** How old a fleet total may be before a check reads it again. */
const READ_EVERY_MS = 1000;

/** The calendar month (UTC) of a time, as `YYYY-MM`. */
export function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** When the month after the one holding `ms` begins (UTC), in ms. */
export function nextMonthAt(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const fileSchema = z.object({
  v: z.literal(1),
  month: z.string(),
  tenants: z.record(z.string(), z.object({ tokens: z.number().nonnegative(), joules: z.number().nonnegative() })),
});

interface Counter {
  tenant: string;
  kind: UsageKind;
  month: string;
  /** The total as last written or read (the fleet's, when shared). */
  known: number;
  /** Being added to the fleet's total now. */
  sending: number;
  /** Counted here and not written yet. */
  pending: number;
  readAt: number;
  /** Bumped by each flush, so a read that raced one does not overwrite its total. */
  epoch: number;
}

export class MonthlyUsage {
  /** Keyed `<kind>.<month>.<tenant>`, the fleet bucket's key too. */
  private readonly counters = new Map<string, Counter>();
  private shared: SharedUsage | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private warned = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {}

  /** Opens the data dir's usage file (a missing or unreadable one starts the month at zero, the latter logged). */
  static open(dataDir: string | undefined, log: Logger, clock: () => number = Date.now): MonthlyUsage {
    const usage = new MonthlyUsage(dataDir === undefined ? undefined : join(dataDir, USAGE_FILE), log, clock);
    usage.load();
    return usage;
  }

  private load(): void {
    if (this.file === undefined) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`cannot read ${this.file} (monthly usage starts at zero): ${(err as Error).message}`);
      return;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch {
      this.log.warn(`${this.file} is not a usage file; monthly usage starts at zero`);
      return;
    }
    if (parsed.month !== monthOf(this.clock())) return; // last month's: this one starts at zero
    for (const [tenant, used] of Object.entries(parsed.tenants)) {
      this.counter(tenant, 'tokens').known = used.tokens;
      this.counter(tenant, 'joules').known = used.joules;
    }
  }

  private counter(tenant: string, kind: UsageKind): Counter {
    const month = monthOf(this.clock());
    const key = `${kind}.${month}.${tenant}`;
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { tenant, kind, month, known: 0, sending: 0, pending: 0, readAt: 0, epoch: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  /** Counts from now on in the fleet's counters: what this node counted alone stays its own. */
  share(shared: SharedUsage): void {
    this.shared = shared;
    for (const c of this.counters.values()) {
      c.known = 0;
      c.readAt = 0;
    }
  }

  /** What the tenant used this month, as far as this node knows (in a fleet: the fleet's total, at most a second old). */
  async used(tenant: string, kind: UsageKind): Promise<number> {
    const c = this.counter(tenant, kind);
    if (this.shared !== undefined && this.clock() - c.readAt >= READ_EVERY_MS && c.sending === 0) {
      const epoch = c.epoch;
      try {
        const total = await this.shared.add(`${kind}.${c.month}.${tenant}`, 0);
        if (c.epoch === epoch && c.sending === 0) {
          c.known = total;
          c.readAt = this.clock();
        }
      } catch {
        // the bucket is out of reach: decide by what was known
      }
    }
    return c.known + c.sending + c.pending;
  }

  /** Counts `amount` for the tenant this month; written out within a second. */
  add(tenant: string, kind: UsageKind, amount: number): void {
    if (!(amount > 0) || !Number.isFinite(amount)) return;
    this.counter(tenant, kind).pending += amount;
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS);
    this.timer.unref();
  }

  /** Writes what was counted: to the fleet's counters when shared, else to the usage file. */
  flush(): Promise<void> {
    this.flushing ??= (this.shared === undefined ? this.writeFile() : this.sendShared(this.shared)).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async sendShared(shared: SharedUsage): Promise<void> {
    const month = monthOf(this.clock());
    for (const [key, c] of this.counters) {
      if (c.pending > 0) {
        c.epoch++;
        c.sending = c.pending;
        c.pending = 0;
        try {
          c.known = await shared.add(key, c.sending);
          c.readAt = this.clock();
        } catch (err) {
          c.pending += c.sending; // kept for the next flush
          if (!this.warned) this.log.warn(`the fleet's usage counters did not take ${key}: ${(err as Error).message}; kept for the next flush`);
          this.warned = true;
        }
        c.sending = 0;
      }
      if (c.pending === 0 && c.month !== month) this.counters.delete(key);
    }
    if ([...this.counters.values()].some((c) => c.pending > 0)) this.schedule();
  }

  private async writeFile(): Promise<void> {
    const month = monthOf(this.clock());
    const tenants: Record<string, { tokens: number; joules: number }> = {};
    for (const [key, c] of this.counters) {
      c.known += c.pending;
      c.pending = 0;
      if (c.month !== month) {
        this.counters.delete(key);
        continue;
      }
      const used = (tenants[c.tenant] ??= { tokens: 0, joules: 0 });
      used[c.kind] = c.known;
    }
    if (this.file === undefined) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ v: 1, month, tenants }) + '\n', { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err) {
      if (!this.warned) this.log.warn(`cannot write ${this.file}: ${(err as Error).message}`);
      this.warned = true;
    }
  }

  /**
   * At stop: writes what is left to the usage file. A fleet node flushes before it leaves the
   * fleet (node.ts), so only what requests finishing during its drain used is not counted.
   */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.shared === undefined) await this.flush();
  }
}
