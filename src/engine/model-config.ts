// Per-model serving config: a model repository's DIR/<name>/config.json, with the knob names
// Triton users know. Node-wide defaults fill what a model leaves out.

import { z } from 'zod';
import { ErrorCode, WeftError, firstIssue } from '../errors.js';
import { parseBytes, parseDuration } from '../config/index.js';
import type { NodeConfig } from '../config/index.js';
import type { Device } from '../backends/index.js';

const bytes = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : parseBytes(v);
  if (n === undefined) ctx.addIssue({ code: 'custom', message: `'${v}' is not a size such as 512MiB` });
  return n ?? 0;
});
const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (n === undefined) ctx.addIssue({ code: 'custom', message: `'${v}' is not a duration such as 30s or 5m` });
  return n ?? 0;
});

const modelConfigFile = z.strictObject({
  /** Largest batch the dynamic batcher forms (rows along dim 0); 0 disables batching. */
  max_batch_size: z.number().int().nonnegative().optional(),
  /** Learn from real batches which sizes serve rows fastest, and batch no larger. */
  adaptive_batching: z.boolean().optional(),
  /** Batch sizes to dispatch at as soon as they can be formed. */
  preferred_batch_sizes: z.array(z.number().int().positive()).optional(),
  /** How long the batcher may hold the oldest request to fill a batch. */
  max_queue_delay_us: z.number().int().nonnegative().optional(),
  /** Bound of the queue; beyond it requests get QUEUE_FULL (429) at once. */
  max_queue_size: z.number().int().positive().optional(),
  /** Default time a request may wait in the queue. */
  default_queue_timeout_us: z.number().int().positive().optional(),
  /** Batches run at once. */
  instances: z.number().int().positive().optional(),
  /** Number of priority levels; 1 is the highest. */
  priority_levels: z.number().int().min(1).max(16).optional(),
  /** Level of requests that name none. */
  default_priority_level: z.number().int().min(1).optional(),
  /** Memory the loaded model takes, counted against the device budget (default: the file size). */
  memory: bytes.optional(),
  /** Execution device. */
  device: z.enum(['cpu', 'cuda']).optional(),
  /** How long the model stays loaded when idle: a duration, or -1 for until evicted. */
  keep_alive: duration.optional(),
  /** Load at start (eager) or on first use (lazy). */
  load: z.enum(['lazy', 'eager']).optional(),
  /** Threads inside one run. */
  intra_op_threads: z.number().int().nonnegative().optional(),
  /** GGUF models: tokens of context per generation. */
  context_size: z.number().int().positive().optional(),
  /** GGUF models: generations run at once (sequences in one context). */
  parallel: z.number().int().positive().max(256).optional(),
  /** GGUF models: CPU threads (0: half the logical CPUs). */
  threads: z.number().int().nonnegative().optional(),
  /** GGUF models: max_tokens of a request that names none (0: the context's free room). */
  default_max_tokens: z.number().int().nonnegative().optional(),
  /** The model is served by these OpenAI-compatible servers (base URLs such as http://host:8000/v1). */
  upstream: z.array(z.url({ protocol: /^https?$/ })).min(1).optional(),
  /** The model's name on the upstream servers (default: its name here). */
  upstream_model: z.string().min(1).optional(),
});
export type ModelConfigFile = z.input<typeof modelConfigFile>;

/** Serving config of one model, every knob resolved. */
export interface ModelConfig {
  /** 0 when batching is off; resolved against the model's signature at load. */
  maxBatchSize: number;
  adaptiveBatching: boolean;
  preferredBatchSizes: number[];
  maxQueueDelayUs: number;
  maxQueueSize: number;
  queueTimeoutMs: number;
  instances: number;
  priorityLevels: number;
  defaultPriorityLevel: number;
  /** Bytes, or undefined to use the model file's size. */
  memory: number | undefined;
  device: Device;
  /** Milliseconds; -1 keeps it until evicted. */
  keepAliveMs: number;
  load: 'lazy' | 'eager';
  intraOpThreads: number;
  contextSize: number;
  parallel: number;
  threads: number;
  /** max_tokens of a GGUF generation that names none; 0 leaves it to the context's free room. */
  defaultMaxTokens: number;
  /** Upstream base URLs when the model is remote. */
  upstream: string[] | undefined;
  upstreamModel: string | undefined;
}

export function parseModelConfig(raw: unknown, source: string, node: Readonly<NodeConfig>): ModelConfig {
  const parsed = modelConfigFile.safeParse(raw ?? {});
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new WeftError(ErrorCode.InvalidConfig, `${source}: ${field ? `'${field}' ` : ''}${message}`, { field });
  }
  const c = parsed.data;
  const priorityLevels = c.priority_levels ?? 2;
  const defaultPriorityLevel = c.default_priority_level ?? priorityLevels;
  if (defaultPriorityLevel > priorityLevels) {
    throw new WeftError(ErrorCode.InvalidConfig, `${source}: default_priority_level ${defaultPriorityLevel} exceeds priority_levels ${priorityLevels}`, {
      field: 'default_priority_level',
    });
  }
  return {
    maxBatchSize: c.max_batch_size ?? node.maxBatchSize,
    adaptiveBatching: c.adaptive_batching ?? node.adaptiveBatching,
    preferredBatchSizes: [...(c.preferred_batch_sizes ?? [])].sort((a, b) => a - b),
    maxQueueDelayUs: c.max_queue_delay_us ?? node.maxQueueDelay * 1000,
    maxQueueSize: c.max_queue_size ?? node.maxQueueSize,
    queueTimeoutMs: c.default_queue_timeout_us !== undefined ? c.default_queue_timeout_us / 1000 : node.queueTimeout,
    instances: c.instances ?? node.instances,
    priorityLevels,
    defaultPriorityLevel,
    memory: c.memory,
    device: c.device ?? node.device,
    keepAliveMs: c.keep_alive ?? node.keepAlive,
    load: c.load ?? node.load,
    intraOpThreads: c.intra_op_threads ?? node.intraOpThreads,
    contextSize: c.context_size ?? node.llmContextSize,
    parallel: c.parallel ?? node.llmParallel,
    threads: c.threads ?? node.llmThreads,
    defaultMaxTokens: c.default_max_tokens ?? node.llmDefaultMaxTokens,
    upstream: c.upstream,
    upstreamModel: c.upstream_model,
  };
}
