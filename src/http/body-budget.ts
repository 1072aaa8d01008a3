// The bytes of large request bodies, HTTP bodies and gRPC messages alike, the node holds at once
// (--max-body-memory). Each body is bounded by --max-body-size, but twenty at once are twenty
// times that — before they are decoded into tensors, copied to a decoder thread or into a
// component's memory. A body counts from its LARGE_BODY_BYTES-th byte, by the bytes that have
// arrived (reserved a step ahead), not by what it declares: a client that declares 64 MiB and
// sends a trickle holds only what it sent, so slow clients cannot take the budget with headers.
// A body that would pass the budget is refused 503 SERVER_OVERLOADED with a Retry-After, its
// connection closed; waiting instead could leave every half-read body waiting for another. A gRPC
// call's messages count the same way, as their frames arrive (api/grpc/message-intake.ts). A
// reservation is held until the answer is sent: the tensors decoded from a body live that long.

import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';

/** Bodies from this size on count against the budget (and are read into one buffer: readBody). */
export const LARGE_BODY_BYTES = 1024 * 1024;

export class BodyBudget {
  private used = 0;

  /** `limit`: bytes held at once; 0 for no bound. */
  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` now, with the function that gives them back, or fails SERVER_OVERLOADED. */
  reserve(bytes: number): () => void {
    if (this.limit === 0) return () => {};
    // A body larger than the whole budget (none, with the settings checked) still goes alone.
    if (this.used + bytes > this.limit && this.used > 0) {
      throw new WeftError(ErrorCode.ServerOverloaded, `the node holds as many request bodies as it may at once (${this.limit} bytes, --max-body-memory); retry later`, { retryAfterSeconds: 1 });
    }
    this.used += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
    };
  }
}

const BUDGET = 'weft.bodyBudget';

/** Makes `budget` the one this request's body counts against (bodyLimit does). */
export function useBodyBudget(c: Context, budget: BodyBudget): void {
  c.set(BUDGET as never, budget as never);
}

/** Counts one body's bytes against a budget as they arrive; `release` gives all of them back. */
export interface ArrivalMeter {
  /** The bytes seen so far; throws SERVER_OVERLOADED once they would pass the budget. */
  seen(bytes: number): void;
  release(): void;
}

/** A meter on `budget` for one body (or one gRPC call's messages), counted from LARGE_BODY_BYTES. */
export function arrivalMeter(budget: BodyBudget): ArrivalMeter {
  let reserved = 0;
  const releases: Array<() => void> = [];
  return {
    seen(bytes) {
      if (bytes < LARGE_BODY_BYTES || bytes <= reserved) return;
      // A step ahead of what has arrived, so a body does not reserve at every socket read.
      const step = Math.ceil((bytes - reserved) / LARGE_BODY_BYTES) * LARGE_BODY_BYTES;
      releases.push(budget.reserve(step));
      reserved += step;
    },
    release: () => releases.splice(0).forEach((give) => give()),
  };
}

/**
 * Counts this request's body against its budget: call it with the bytes seen so far as they
 * arrive; it throws SERVER_OVERLOADED once they would pass the budget. All of it is given back
 * when the answer is sent (or the connection is gone). Undefined without a budget, or for a
 * request made in process (no socket: its body is in memory already, counted where it arrived).
 */
export function meterBody(c: Context): ((seen: number) => void) | undefined {
  const budget = c.get(BUDGET as never) as BodyBudget | undefined;
  const answered = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (budget === undefined || budget.limit === 0 || answered === undefined || answered.closed) return undefined;
  const meter = arrivalMeter(budget);
  answered.once('close', meter.release);
  return meter.seen;
}
