// The fleet's wire types, version 1: what each bucket holds, as zod schemas. Every value read
// from NATS goes through `decode`; a malformed one is logged and dropped, never trusted.

import { z } from 'zod';
import { FLEET_VERSION, TOKEN } from './namespace.js';
import { firstIssue } from '../errors.js';

const token = z.string().regex(TOKEN);
const bytes = z.number().int().nonnegative();
const labels = z.record(z.string().max(63), z.string().max(63));

export const ReplicaStates = ['loading', 'ready', 'failed', 'removing'] as const;
export type ReplicaState = (typeof ReplicaStates)[number];

/** A replica as the node running it reports it. */
const replicaReport = z.object({
  app: token,
  digest: z.string(),
  state: z.enum(ReplicaStates),
  error: z.string().optional(),
});

const modelLoad = z.object({
  model: z.string(),
  /** Requests waiting in the model's queue. */
  queued: z.number().int().nonnegative(),
  inflight: z.number().int().nonnegative(),
  p50Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  /** Requests per second over the stats window. */
  rate: z.number().nonnegative(),
  joulesPerRequest: z.number().nonnegative(),
});

export const nodeRecordSchema = z.object({
  v: z.literal(FLEET_VERSION),
  node: token,
  site: token,
  labels,
  /** Base URL of the node's HTTP API. */
  url: z.string(),
  version: z.string(),
  /** Epoch ms of this heartbeat, by the node's clock. */
  at: z.number(),
  draining: z.boolean(),
  cpu: z.object({ cores: z.number().int().positive(), model: z.string() }),
  memory: z.object({ totalBytes: bytes }),
  gpus: z.array(z.object({ model: z.string(), memoryBytes: bytes })),
  /** Model memory budget per device, and what is free of it now. */
  budget: z.object({ cpu: bytes, cuda: bytes }),
  free: z.object({ cpu: bytes, cuda: bytes }),
  /** Bytes held by models the fleet did not place (`--model`, `--app`, the embedded default). */
  localBytes: bytes,
  power: z.object({
    watts: z.number().nonnegative(),
    /** How `watts` was obtained: a meter (rapl, nvidia) or the estimator. */
    source: z.string(),
    measured: z.boolean(),
    /** The part of `watts` a meter read, when the rest is estimated. */
    measuredWatts: z.number().nonnegative().optional(),
    budgetWatts: z.number().nonnegative().optional(),
  }),
  models: z.array(z.string()),
  /** The language models among `models`, for /v1/models on every node (absent from older nodes). */
  languageModels: z.array(z.string()).optional(),
  apps: z.array(z.object({ name: z.string(), digest: z.string() })),
  bundles: z.array(z.string()),
  load: z.array(modelLoad),
  replicas: z.array(replicaReport),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;
export type ModelLoad = z.infer<typeof modelLoad>;
export type ReplicaReport = z.infer<typeof replicaReport>;

export const SpreadKeys = ['site'] as const;

export const appSpecSchema = z.object({
  v: z.literal(FLEET_VERSION),
  name: token,
  ref: z.string().min(1),
  digest: z.string(),
  /** Memory one instance of the app needs: every model it loads, per instance. */
  memoryBytes: bytes,
  gpu: z.object({ count: z.number().int().positive(), memoryBytes: bytes.optional() }).optional(),
  models: z.array(z.string()),
  replicas: z.object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }).refine((r) => r.min <= r.max, 'min must not exceed max'),
  require: z.array(z.enum(['gpu'])),
  select: labels,
  spread: z.enum(SpreadKeys).optional(),
  preferSite: token.optional(),
  createdAt: z.number(),
});
export type AppSpec = z.infer<typeof appSpecSchema>;

const assignment = z.object({
  node: token,
  /** Epoch ms the scheduler assigned it. */
  at: z.number(),
  /**
   * Being moved off this node (`pack` consolidating): it keeps serving until the app's other
   * replicas are ready, then the scheduler drops it and the node unloads it.
   */
  leaving: z.literal(true).optional(),
});

export const placementSchema = z.object({
  v: z.literal(FLEET_VERSION),
  app: token,
  digest: z.string(),
  /** The reference nodes pull it from. */
  ref: z.string().min(1),
  /** Replicas wanted now, between the spec's min and max (the autoscaler moves it). */
  target: z.number().int().nonnegative(),
  assigned: z.array(assignment),
  /** Why replicas beyond `assigned` are not placed; empty when all are. */
  pending: z.string(),
  /** Nodes that failed to pull or load this digest, with their error: not tried again for a while. */
  failed: z.record(z.string(), z.string()),
  /** When each of `failed` was recorded (epoch ms): the node is tried again FAILED_RETRY_MS later. */
  failedAt: z.record(z.string(), z.number()).optional(),
  /** Epoch ms of the last autoscaling change (cool-down). */
  scaledAt: z.number(),
});
export type Placement = z.infer<typeof placementSchema>;
export type Assignment = z.infer<typeof assignment>;

export const leaseSchema = z.object({
  v: z.literal(FLEET_VERSION),
  holder: token,
  since: z.number(),
  /** The holder's --power-policy: the fleet's, while it holds the lease. */
  policy: z.enum(['spread', 'pack']),
});
export type Lease = z.infer<typeof leaseSchema>;

export interface Decoder {
  warn(message: string, fields?: object): void;
}

/** Parses one stored value; undefined (and a warning) for anything malformed. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array, where: string, log: Decoder): T | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    log.warn('fleet: dropped a message that is not JSON', { where, error: (err as Error).message });
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const { field, message } = firstIssue(parsed.error);
  log.warn('fleet: dropped a malformed message', { where, field, error: message });
  return undefined;
}

export function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
