// Per-tenant limits and fairness, in front of the engine: a token bucket per tenant (429 with
// Retry-After), a budget of language-model tokens per minute (charged with what each request
// used once it ends, refused while in debt: 429 with the wait), a cap on a tenant's requests in flight (429), and a fair gate: at most `slots`
// inference requests are admitted to the engine at once, and those waiting are admitted in
// weighted fair order between tenants (--tenant-weight), so one tenant's flood queues behind
// itself, not before others. The same weights order each model's queue (`shareOf`, carried on
// the request's scope to engine/admission.ts).

import { ErrorCode, WeftError, abortError } from '../errors.js';
import { FairQueue, type FairShare } from '../engine/index.js';
import type { Principal } from './keys.js';

export interface LimitsOptions {
  /** Default requests per second per tenant; 0: unlimited. */
  rate: number;
  /** Default requests in flight per tenant; 0: unlimited. */
  concurrency: number;
  /** Default language-model tokens per minute per tenant; 0: unlimited. */
  tokensPerMinute?: number;
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
  private readonly inflight = new Map<string, number>();
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

  /** Takes one request from the tenant's bucket, or throws RATE_LIMITED with the wait. */
  takeRate(p: Principal): void {
    const rate = p.rate ?? this.options.rate;
    if (rate <= 0) return;
    const burst = Math.max(1, rate);
    const now = this.clock();
    const b = this.buckets.get(p.tenant) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(p.tenant, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - b.tokens) / rate));
    throw new WeftError(ErrorCode.RateLimited, `tenant '${p.tenant}' is over its rate limit of ${rate} requests/s; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  /** The tenant's token budget, refilled to now: undefined when it has none. */
  private tokenBucket(p: Principal): { bucket: Bucket; perMinute: number } | undefined {
    const perMinute = p.tokensPerMinute ?? this.options.tokensPerMinute ?? 0;
    if (perMinute <= 0) return undefined;
    const now = this.clock();
    const bucket = this.tokenBuckets.get(p.tenant) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) / 60_000) * perMinute);
    bucket.at = now;
    this.tokenBuckets.set(p.tenant, bucket);
    return { bucket, perMinute };
  }

  /**
   * Refuses a language-model request while the tenant's token budget is spent. A request is let
   * in with any budget left, since its size is known only once it ran; what it used is charged
   * then (`chargeTokens`), so a tenant over its budget waits until the minute has refilled it.
   */
  checkTokens(p: Principal): void {
    const held = this.tokenBucket(p);
    if (held === undefined || held.bucket.tokens > 0) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((1 - held.bucket.tokens) / held.perMinute) * 60));
    throw new WeftError(ErrorCode.RateLimited, `tenant '${p.tenant}' has used its ${held.perMinute} language-model tokens per minute; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  /** Charges the tokens a finished request used (prompt and completion) to its tenant's budget. */
  chargeTokens(p: Principal, tokens: number): void {
    if (tokens <= 0) return;
    const held = this.tokenBucket(p);
    if (held !== undefined) held.bucket.tokens -= tokens;
  }

  /**
   * Admits an inference request: checks the tenant's concurrency, then waits its turn at the fair
   * gate. Resolves with the release to call when the request is done.
   */
  async admit(p: Principal, signal?: AbortSignal): Promise<() => void> {
    const cap = p.concurrency ?? this.options.concurrency;
    const mine = this.inflight.get(p.tenant) ?? 0;
    if (cap > 0 && mine >= cap) throw new WeftError(ErrorCode.RateLimited, `tenant '${p.tenant}' has ${mine} requests in flight, its concurrency limit; retry when one finishes`, { retryAfterSeconds: 1 });
    this.inflight.set(p.tenant, mine + 1);
    const untrack = () => {
      const n = (this.inflight.get(p.tenant) ?? 1) - 1;
      if (n <= 0) this.inflight.delete(p.tenant);
      else this.inflight.set(p.tenant, n);
    };
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
