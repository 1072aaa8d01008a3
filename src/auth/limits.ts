// Per-tenant limits and fairness, in front of the engine: a token bucket per tenant (429 with
// Retry-After); a budget of language-model tokens per minute (charged with what each request
// used once it ends, refused while in debt: 429 with the wait); both shared by the fleet's nodes
// when joined (SharedBuckets); a cap on a tenant's requests in flight, fleet-wide when joined
// (SharedInflight); monthly budgets of tokens and joules (usage.ts counts them: 429
// QUOTA_EXCEEDED until the month turns); and a fair gate: at
// most `slots` inference requests are admitted to the engine at once, and those waiting are
// admitted in weighted fair order between tenants (--tenant-weight), so one tenant's flood
// queues behind itself, not before others. The same weights order each model's queue
// (`shareOf`, carried on the request's scope to engine/admission.ts).

import { ErrorCode, WeftError, abortError } from '../errors.js';
import { FairQueue, type FairShare } from '../engine/index.js';
import type { Principal } from './keys.js';
import { nextMonthAt, type MonthlyUsage, type UsageKind } from './usage.js';

/** A token bucket's shape: its capacity and how fast it refills. */
export interface BucketShape {
  capacity: number;
  perSecond: number;
}

/**
 * A tenant's buckets shared by every node of a fleet (src/fleet implements it over JetStream KV,
 * each update revision-checked). Keys are `rate.<tenant>` and `tokens.<tenant>`.
 */
export interface SharedBuckets {
  /** Takes up to `want` whole tokens (none when less than one is left); resolves with those taken and the level left. */
  take(key: string, want: number, shape: BucketShape): Promise<{ taken: number; level: number }>;
  /** Takes `amount` whatever is left (the level may go below zero); resolves with the level left. */
  charge(key: string, amount: number, shape: BucketShape): Promise<number>;
  /** The bucket's level now. */
  level(key: string, shape: BucketShape): Promise<number>;
}

/**
 * Each tenant's requests in flight on the fleet's other nodes (src/fleet implements it over
 * JetStream KV: every node writes its own counts and mirrors the others').
 */
export interface SharedInflight {
  /** This node's count for the tenant changed: sent to the other nodes, the latest first. */
  report(tenant: string, inflight: number): void;
  /** Requests the tenant has in flight on the other nodes, as they last reported. */
  elsewhere(tenant: string): number;
}

/**
 * How long a node keeps request tokens it took from a shared bucket before it must take again:
 * what is left then is lost to the tenant, so a lease is small (a twentieth of a second's rate).
 */
const LEASE_MS = 1000;
const LEASE_SHARE = 1 / 20;
/** After the shared buckets fail, this node counts alone for this long before it tries them again. */
const SHARED_RETRY_MS = 5000;

/** A bucket's level at `now`: what it held at `at`, refilled at its rate, never above its capacity. */
export function refilled(level: number, at: number, now: number, shape: BucketShape): number {
  return Math.min(shape.capacity, level + (Math.max(0, now - at) / 1000) * shape.perSecond);
}

export interface LimitsOptions {
  /** Default requests per second per tenant; 0: unlimited. */
  rate: number;
  /** Default requests in flight per tenant; 0: unlimited. */
  concurrency: number;
  /** Default language-model tokens per minute per tenant; 0: unlimited. */
  tokensPerMinute?: number;
  /** Default language-model tokens per calendar month (UTC) per tenant; 0: unlimited. */
  monthlyTokens?: number;
  /** Default joules per calendar month (UTC) per tenant, as the node attributes them; 0: unlimited. */
  monthlyJoules?: number;
  /** Counts the tenants' monthly usage (needed for monthly budgets). */
  usage?: MonthlyUsage;
  /** Inference requests admitted at once; 0: no gate. */
  slots: number;
  /** Most requests one tenant may have waiting at the gate. */
  maxWaiting: number;
  /** Milliseconds a request may wait at the gate. */
  waitTimeoutMs: number;
  /** Fair-queueing weight per tenant (--tenant-weight); others weigh 1. */
  weights?: ReadonlyMap<string, number>;
  clock?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

interface Waiter {
  grant: () => void;
}

export class TenantLimits {
  private readonly buckets = new Map<string, Bucket>();
  /** Tokens left per tenant; below zero after a request that used more than was left. */
  private readonly tokenBuckets = new Map<string, Bucket>();
  /** In a fleet: the tenants' buckets, shared by every node. */
  private shared: SharedBuckets | undefined;
  /** Until then, the shared buckets failed: count on this node alone. */
  private sharedDownUntil = 0;
  /** Request tokens this node took from the shared rate bucket and has not spent yet. */
  private readonly leases = new Map<string, { left: number; until: number }>();
  private readonly inflight = new Map<string, number>();
  /** In a fleet: the tenants' requests in flight on the other nodes. */
  private sharedInflight: SharedInflight | undefined;
  private admitted = 0;
  private readonly waiting = new FairQueue<Waiter>();
  /** Requests waiting at the gate, per tenant. */
  private readonly waitingOf = new Map<string, number>();
  private readonly clock: () => number;

  constructor(private readonly options: LimitsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** The tenant's place in fair queueing: its name and weight. */
  shareOf(p: Principal): FairShare {
    return { tenant: p.tenant, weight: this.options.weights?.get(p.tenant) ?? 1 };
  }

  /** Counts rate and token budgets, and with `inflight` concurrency, fleet-wide from now on (a node joined to a fleet). */
  share(buckets: SharedBuckets, inflight?: SharedInflight): void {
    this.shared = buckets;
    this.sharedInflight = inflight;
  }

  /** Takes one request from the tenant's bucket (the fleet's, when shared), or throws RATE_LIMITED with the wait. */
  async takeRate(p: Principal): Promise<void> {
    const rate = p.rate ?? this.options.rate;
    if (rate <= 0) return;
    const burst = Math.max(1, rate);
    const shared = await this.sharedOrLocal((buckets) => this.takeShared(buckets, p.tenant, rate, burst));
    if (shared !== undefined) {
      if (shared.taken) return;
      throw this.overRate(p.tenant, rate, shared.level);
    }
    const now = this.clock();
    const b = this.buckets.get(p.tenant) ?? { tokens: burst, at: now };
    b.tokens = refilled(b.tokens, b.at, now, { capacity: burst, perSecond: rate });
    b.at = now;
    this.buckets.set(p.tenant, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    throw this.overRate(p.tenant, rate, b.tokens);
  }

  private overRate(tenant: string, rate: number, level: number): WeftError {
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - level) / rate));
    return new WeftError(ErrorCode.RateLimited, `tenant '${tenant}' is over its rate limit of ${rate} requests/s; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  /**
   * Spends a request token this node holds, or takes a few more from the fleet's bucket (a
   * revision-checked update): each token is taken once, by one node, so the fleet together
   * admits the tenant's rate, not the rate times the nodes it calls.
   */
  private async takeShared(buckets: SharedBuckets, tenant: string, rate: number, burst: number): Promise<{ taken: boolean; level: number }> {
    const now = this.clock();
    const lease = this.leases.get(tenant);
    if (lease !== undefined && lease.left >= 1 && lease.until > now) {
      lease.left--;
      return { taken: true, level: lease.left };
    }
    const want = Math.max(1, Math.floor(rate * LEASE_SHARE));
    const { taken, level } = await buckets.take(`rate.${tenant}`, want, { capacity: burst, perSecond: rate });
    if (taken < 1) return { taken: false, level };
    // Another request may have taken a lease meanwhile: keep what it left too.
    const held = this.leases.get(tenant);
    const left = held !== undefined && held.until > now ? held.left : 0;
    this.leases.set(tenant, { left: left + taken - 1, until: now + LEASE_MS });
    return { taken: true, level };
  }

  /** The tenant's token budget on this node, refilled to now. */
  private localTokens(tenant: string, perMinute: number): Bucket {
    const now = this.clock();
    const bucket = this.tokenBuckets.get(tenant) ?? { tokens: perMinute, at: now };
    bucket.tokens = refilled(bucket.tokens, bucket.at, now, { capacity: perMinute, perSecond: perMinute / 60 });
    bucket.at = now;
    this.tokenBuckets.set(tenant, bucket);
    return bucket;
  }

  /**
   * Refuses a language-model request while the tenant's token budget is spent. A request is let
   * in with any budget left, since its size is known only once it ran; what it used is charged
   * then (`chargeTokens`), so a tenant over its budget waits until the minute has refilled it.
   */
  async checkTokens(p: Principal): Promise<void> {
    const perMinute = this.tokensPerMinute(p);
    if (perMinute <= 0) return;
    const level = (await this.sharedOrLocal((s) => s.level(`tokens.${p.tenant}`, { capacity: perMinute, perSecond: perMinute / 60 }))) ?? this.localTokens(p.tenant, perMinute).tokens;
    if (level > 0) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((1 - level) / perMinute) * 60));
    throw new WeftError(ErrorCode.RateLimited, `tenant '${p.tenant}' has used its ${perMinute} language-model tokens per minute; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  /**
   * Refuses the request while the tenant's monthly budget is spent: joules for any inference
   * request, language-model tokens for OpenAI calls. Like the token budget per minute, a request
   * goes in while any budget is left; what it used is counted once it ran.
   */
  async checkMonthly(p: Principal, languageModel: boolean): Promise<void> {
    const usage = this.options.usage;
    if (usage === undefined) return;
    const budgets: Array<[UsageKind, number]> = [['joules', p.monthlyJoules ?? this.options.monthlyJoules ?? 0]];
    if (languageModel) budgets.push(['tokens', p.monthlyTokens ?? this.options.monthlyTokens ?? 0]);
    for (const [kind, budget] of budgets) {
      if (budget <= 0) continue;
      const used = await usage.used(p.tenant, kind);
      if (used < budget) continue;
      const now = this.clock();
      const renews = nextMonthAt(now);
      const what = kind === 'tokens' ? `${budget} language-model tokens` : `${budget} J`;
      throw new WeftError(ErrorCode.QuotaExceeded, `tenant '${p.tenant}' has used its monthly budget of ${what} (${Math.round(used)} this month); it renews at ${new Date(renews).toISOString()}`, {
        retryAfterSeconds: Math.max(1, Math.ceil((renews - now) / 1000)),
        field: kind === 'tokens' ? 'monthlyTokens' : 'monthlyJoules',
      });
    }
  }

  /** Counts the joules a request's work was attributed (once they settled) toward its tenant's month. */
  chargeJoules(p: Principal, joules: number): void {
    this.options.usage?.add(p.tenant, 'joules', joules);
  }

  /** Charges the tokens a finished request used (prompt and completion) to its tenant's budgets. */
  async chargeTokens(p: Principal, tokens: number): Promise<void> {
    this.options.usage?.add(p.tenant, 'tokens', tokens);
    const perMinute = this.tokensPerMinute(p);
    if (tokens <= 0 || perMinute <= 0) return;
    const charged = await this.sharedOrLocal((s) => s.charge(`tokens.${p.tenant}`, tokens, { capacity: perMinute, perSecond: perMinute / 60 }));
    if (charged === undefined) this.localTokens(p.tenant, perMinute).tokens -= tokens;
  }

  /** Runs `op` on the shared buckets; undefined when there are none or they failed (then counted here). */
  private async sharedOrLocal<T>(op: (shared: SharedBuckets) => Promise<T>): Promise<T | undefined> {
    if (this.shared === undefined || this.clock() < this.sharedDownUntil) return undefined;
    try {
      return await op(this.shared);
    } catch {
      this.sharedDownUntil = this.clock() + SHARED_RETRY_MS;
      return undefined;
    }
  }

  private tokensPerMinute(p: Principal): number {
    return p.tokensPerMinute ?? this.options.tokensPerMinute ?? 0;
  }

  /**
   * Admits an inference request: checks the tenant's concurrency (in a fleet, its requests in
   * flight on every node), then waits its turn at the fair gate. Resolves with the release to
   * call when the request is done. A request another node forwarded (`counted` false) is in
   * flight where it entered the fleet, and is not counted again here.
   */
  async admit(p: Principal, signal?: AbortSignal, counted = true): Promise<() => void> {
    const cap = p.concurrency ?? this.options.concurrency;
    let untrack = () => undefined as void;
    if (counted) {
      const mine = this.inflight.get(p.tenant) ?? 0;
      // Only a capped tenant's counts travel: a fleet without concurrency limits writes none.
      const elsewhere = cap > 0 ? (this.sharedInflight?.elsewhere(p.tenant) ?? 0) : 0;
      if (cap > 0 && mine + elsewhere >= cap) {
        const where = elsewhere > 0 ? ` (${elsewhere} on other nodes of the fleet)` : '';
        throw new WeftError(ErrorCode.RateLimited, `tenant '${p.tenant}' has ${mine + elsewhere} requests in flight${where}, its concurrency limit; retry when one finishes`, { retryAfterSeconds: 1 });
      }
      this.track(p.tenant, 1, cap > 0);
      untrack = () => this.track(p.tenant, -1, cap > 0);
    }
    try {
      await this.enter(this.shareOf(p), signal);
    } catch (err) {
      untrack();
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      untrack();
      this.leave();
    };
  }

  /** Counts a tenant's request in or out, and tells the fleet's other nodes when it is capped. */
  private track(tenant: string, delta: number, report: boolean): void {
    const n = (this.inflight.get(tenant) ?? 0) + delta;
    if (n <= 0) this.inflight.delete(tenant);
    else this.inflight.set(tenant, n);
    if (report) this.sharedInflight?.report(tenant, Math.max(0, n));
  }

  private enter(share: FairShare, signal?: AbortSignal): Promise<void> {
    const { slots } = this.options;
    if (slots <= 0) return Promise.resolve();
    if (this.admitted < slots && this.waiting.length === 0) {
      this.admitted++;
      return Promise.resolve();
    }
    const { tenant } = share;
    const mine = this.waitingOf.get(tenant) ?? 0;
    if (mine >= this.options.maxWaiting) {
      return Promise.reject(new WeftError(ErrorCode.QueueFull, `tenant '${tenant}' has ${mine} requests waiting for admission; retry later`, { retryAfterSeconds: 1 }));
    }
    return new Promise<void>((resolve, reject) => {
      const untrack = () => {
        const n = (this.waitingOf.get(tenant) ?? 1) - 1;
        if (n <= 0) this.waitingOf.delete(tenant);
        else this.waitingOf.set(tenant, n);
      };
      const drop = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(waiter, false);
        untrack();
      };
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          untrack();
          resolve();
        },
      };
      const onAbort = () => {
        drop();
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        drop();
        reject(new WeftError(ErrorCode.QueueTimeout, `waited ${this.options.waitTimeoutMs} ms for admission (--queue-timeout)`));
      }, this.options.waitTimeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waitingOf.set(tenant, mine + 1);
      this.waiting.push(waiter, share);
    });
  }

  /** Frees a slot and hands it to the waiter due next in fair order. */
  private leave(): void {
    if (this.options.slots <= 0) return;
    const next = this.waiting.first();
    if (next === undefined) {
      this.admitted--;
      return;
    }
    this.waiting.delete(next, true);
    next.grant();
  }
}
