// The bytes of large request bodies, HTTP bodies and gRPC messages alike, the node holds at once
// (--max-body-memory). Each body is bounded by --max-body-size, but twenty at once are twenty
// times that — before they are decoded into tensors, copied to a decoder thread or into a
// component's memory. A body of declared length reserves its length before it is read and waits
// its turn, in arrival order, while the budget is taken: its bytes stay in the client's socket
// meanwhile (TCP pushes back), bounded by --request-timeout. A chunked body, whose length nobody
// knows ahead, reserves as it streams and is refused 503 SERVER_OVERLOADED when the budget runs
// out (waiting there could leave every half-read body waiting for another); so is a gRPC message,
// which grpc-js has read whole before anyone sees it. A reservation is held until the answer is
// sent: the tensors decoded from a body live that long.

import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';

interface Waiter {
  bytes: number;
  grant: () => void;
}

export class BodyBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  /** `limit`: bytes held at once; 0 for no bound. */
  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  inUse(): number {
    return this.used;
  }

  /**
   * Resolves once `bytes` are reserved (at once when they fit and nobody waits ahead), with the
   * function that gives them back; rejects if `signal` aborts first.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (this.limit === 0) return Promise.resolve(() => {});
    if (this.waiting.length === 0 && this.fits(bytes)) return Promise.resolve(this.take(bytes));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(bytes));
        },
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(signal!.reason as Error);
        // The one that left may have been all that held back those behind it.
        this.wake();
      };
      if (signal?.aborted) return reject(signal.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Reserves `bytes` now or fails SERVER_OVERLOADED: for bodies already on their way. */
  reserveNow(bytes: number): () => void {
    if (this.limit === 0) return () => {};
    if (this.waiting.length > 0 || !this.fits(bytes)) {
      throw new WeftError(ErrorCode.ServerOverloaded, `the node holds as many request bodies as it may at once (${this.limit} bytes, --max-body-memory); retry later`, { retryAfterSeconds: 1 });
    }
    return this.take(bytes);
  }

  // A body larger than the whole budget (none, with the settings checked) still goes alone.
  private fits(bytes: number): boolean {
    return this.used + bytes <= this.limit || this.used === 0;
  }

  private take(bytes: number): () => void {
    this.used += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) this.waiting.shift()!.grant();
  }
}

const BUDGET = 'weft.bodyBudget';

/** Makes `budget` the one this request's large body reserves from (bodyLimit does). */
export function useBodyBudget(c: Context, budget: BodyBudget): void {
  c.set(BUDGET as never, budget as never);
}

/**
 * The budget this request reserves from, and the Node response whose close ends a reservation;
 * undefined for a request made in process (no socket: its body is already in memory).
 */
export function bodyBudgetOf(c: Context): { budget: BodyBudget; answered: ServerResponse } | undefined {
  const budget = c.get(BUDGET as never) as BodyBudget | undefined;
  const answered = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  return budget === undefined || budget.limit === 0 || answered === undefined ? undefined : { budget, answered };
}

/** Gives a reservation back once the response is sent (or its connection gone). */
export function releaseWhenAnswered(answered: ServerResponse, release: () => void): void {
  if (answered.closed) release();
  else answered.once('close', release);
}
