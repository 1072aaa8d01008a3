// The tenants' rate and token buckets, shared by every node of the fleet (auth/limits.ts's
// SharedBuckets): one key per bucket in `weft_quota`, `{level, at}`, each change a
// revision-checked update retried on conflict, so no token is spent twice and none is counted
// twice. A bucket's key expires with the bucket's max-age once no node has touched it; it comes
// back full, as an idle tenant's bucket would be. And the tenants' monthly usage (auth/usage.ts's
// SharedUsage): one counter per tenant, kind and month in `weft_usage`, each add revision-checked.

import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { refilled, type BucketShape, type SharedBuckets, type SharedUsage } from '../auth/index.js';
import { decode, encode } from './messages.js';
import type { Logger } from '../telemetry/index.js';
import { FLEET_VERSION } from './namespace.js';

const stateSchema = z.object({ v: z.literal(FLEET_VERSION), level: z.number(), at: z.number() });
const usageSchema = z.object({ v: z.literal(FLEET_VERSION), total: z.number().nonnegative() });

/** Concurrent updates of one bucket retry this often before the caller counts locally. */
const ATTEMPTS = 16;
/** A KV operation slower than this is given up on: a request never waits long on the fleet. */
const OP_TIMEOUT_MS = 500;

function timed<T>(op: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fleet's quota bucket did not answer within ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
    op.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export class FleetTenantBuckets implements SharedBuckets {
  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Reads the bucket, lets `amount` say what to take of its level, and writes the rest back. */
  private async update(key: string, shape: BucketShape, amount: (level: number) => number): Promise<{ taken: number; level: number }> {
    let last: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const entry = await timed(this.kv.get(key));
      const now = this.clock();
      let level = shape.capacity;
      // A malformed value (logged) counts as a full bucket, and this update repairs it.
      const held = entry !== null && entry.operation === 'PUT' ? decode(stateSchema, entry.value, `weft_quota/${key}`, this.log) : undefined;
      if (held !== undefined) level = refilled(held.level, held.at, now, shape);
      const taken = amount(level);
      if (taken === 0) return { taken, level };
      const next = encode({ v: FLEET_VERSION, level: level - taken, at: now });
      try {
        if (entry === null) await timed(this.kv.create(key, next));
        else await timed(this.kv.update(key, next, entry.revision));
        return { taken, level: level - taken };
      } catch (err) {
        last = err; // another node changed it first: read it again
      }
    }
    throw last instanceof Error ? last : new Error(`the quota bucket ${key} kept changing`);
  }

  take(key: string, want: number, shape: BucketShape): Promise<{ taken: number; level: number }> {
    return this.update(key, shape, (level) => Math.max(0, Math.min(want, Math.floor(level))));
  }

  async charge(key: string, amount: number, shape: BucketShape): Promise<number> {
    return (await this.update(key, shape, () => amount)).level;
  }

  async level(key: string, shape: BucketShape): Promise<number> {
    return (await this.update(key, shape, () => 0)).level;
  }
}


export class FleetUsageCounters implements SharedUsage {
  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  async add(key: string, amount: number): Promise<number> {
    let last: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const entry = await timed(this.kv.get(key));
      // A malformed value (logged) counts as zero, and this add repairs it.
      const held = entry !== null && entry.operation === 'PUT' ? decode(usageSchema, entry.value, `weft_usage/${key}`, this.log) : undefined;
      const total = (held?.total ?? 0) + amount;
      if (amount === 0) return total;
      const next = encode({ v: FLEET_VERSION, total });
      try {
        if (entry === null) await timed(this.kv.create(key, next));
        else await timed(this.kv.update(key, next, entry.revision));
        return total;
      } catch (err) {
        last = err; // another node added first: read it again
      }
    }
    throw last instanceof Error ? last : new Error(`the usage counter ${key} kept changing`);
  }
}
