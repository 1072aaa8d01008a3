// The per-model scheduler for tensor models: the one admission queue (admission.ts) in front of
// a model, feeding a dynamic batcher that runs up to `instances` batches at once.
//
// Ownership: once `enqueue` returns a promise, the scheduler owns the job until it settles it
// exactly once — with outputs, or with QUEUE_FULL, QUEUE_TIMEOUT, CANCELLED, SHUTTING_DOWN or
// INFERENCE_FAILED.

import { ErrorCode, WeftError } from '../errors.js';
import type { LoadedModel, Tensor } from '../backends/index.js';
import type { EngineObserver, RequestScope } from '../telemetry/index.js';
import { batchRows, compatibilityKey, concatInputs, splitOutputs } from './batch.js';
import { AdmissionQueue } from './admission.js';
import { BatchProfile, type BatchingChoice } from './batch-profile.js';

export interface SchedulerOptions {
  model: string;
  /** Rows per batch; 0 runs every request on its own. */
  maxBatchSize: number;
  preferredBatchSizes: readonly number[];
  maxQueueDelayUs: number;
  maxQueueSize: number;
  instances: number;
  priorityLevels: number;
  /** Learn which batch sizes pay and batch no larger (batch-profile.ts). */
  adaptive?: boolean;
  /** Told when each batch starts and ends (metrics, batch spans, energy attribution). */
  observer?: EngineObserver;
}

export interface Job {
  inputs: Record<string, Tensor>;
  /** Requested outputs; empty means all. */
  outputs: readonly string[];
  /** 1 is the highest level. */
  priority: number;
  /** Longest wait in the queue, in milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The request's telemetry, which the batch it joins reports to. */
  scope?: RequestScope;
}

export interface JobResult {
  outputs: Record<string, Tensor>;
  /** Rows of the batch this job ran in (its own rows when it ran alone). */
  batchSize: number;
  /** Requests that shared the batch. */
  batchRequests: number;
  queueMs: number;
  computeMs: number;
}

interface QueuedJob extends Job {
  rows: number;
  key: string;
  enqueuedAt: number;
  resolve: (result: JobResult) => void;
  reject: (err: Error) => void;
}

export interface Scheduler {
  enqueue(job: Job): Promise<JobResult>;
  /** Jobs waiting plus jobs running. */
  inflight(): number;
  /** Jobs waiting. */
  queuedCount(): number;
  /** Rejects everything still queued and resolves when running batches are done. */
  stop(): Promise<void>;
  /** With adaptive batching: the batch size chosen and why. */
  batching(): BatchingChoice | undefined;
}

export class DynamicBatchScheduler implements Scheduler {
  private readonly queue: AdmissionQueue<QueuedJob>;
  private runningBatches = 0;
  private runningJobs = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Moving average of one batch's compute time, for Retry-After. */
  private avgComputeMs = 10;
  private readonly profile: BatchProfile | undefined;

  constructor(
    private readonly model: LoadedModel,
    private readonly options: SchedulerOptions,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.queue = new AdmissionQueue(options);
    this.profile = options.adaptive === true && options.maxBatchSize > 1 ? new BatchProfile(options.maxBatchSize) : undefined;
  }

  batching(): BatchingChoice | undefined {
    return this.profile?.choice();
  }

  inflight(): number {
    return this.queue.size + this.runningJobs;
  }

  queuedCount(): number {
    return this.queue.size;
  }

  enqueue(job: Job): Promise<JobResult> {
    const refused = this.queue.refusal(job.signal, () => this.retryAfterSeconds());
    if (refused) return Promise.reject(refused);
    return new Promise<JobResult>((resolve, reject) => {
      const queuedJob: QueuedJob = {
        ...job,
        rows: batchRows(job.inputs),
        key: compatibilityKey(job.inputs, job.outputs),
        enqueuedAt: this.now(),
        resolve,
        reject,
      };
      this.queue.push(queuedJob, job.priority, job.timeoutMs, job.signal, reject, job.scope?.fairShare);
      this.pump();
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.delayTimer);
    this.queue.stop();
    if (this.runningBatches > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private retryAfterSeconds(): number {
    const perBatch = Math.max(1, this.options.maxBatchSize);
    const drainMs = (this.avgComputeMs * Math.ceil(this.queue.size / perBatch)) / this.options.instances;
    return Math.max(1, Math.ceil(drainMs / 1000));
  }

  /** Starts batches while an instance is free and the queue holds a batch worth running now. */
  private pump(): void {
    while (this.runningBatches < this.options.instances && this.queue.size > 0) {
      const batch = this.formBatch();
      if (batch === undefined) return;
      clearTimeout(this.delayTimer);
      for (const job of batch) this.queue.remove(job);
      void this.execute(batch);
    }
  }

  /** The batch to run now, or undefined when the batcher should wait for more requests. */
  private formBatch(): QueuedJob[] | undefined {
    const head = this.queue.head()!;
    const max = this.profile?.maxRows() ?? this.options.maxBatchSize;
    if (max === 0 || head.rows >= max) return [head];
    const batch: QueuedJob[] = [];
    let rows = 0;
    for (const job of this.queue.ordered()) {
      if (job.key !== head.key || rows + job.rows > max) continue;
      batch.push(job);
      rows += job.rows;
    }
    if (rows >= max) return batch;
    const waitedUs = (this.now() - head.enqueuedAt) * 1000;
    const delayUs = this.options.maxQueueDelayUs;
    if (delayUs === 0 || waitedUs >= delayUs) return batch;
    const preferred = this.largestPreferredPrefix(batch);
    if (preferred !== undefined) return preferred;
    clearTimeout(this.delayTimer);
    this.delayTimer = setTimeout(() => this.pump(), Math.max(1, (delayUs - waitedUs) / 1000));
    return undefined;
  }

  /** The longest prefix of `batch` whose rows equal a preferred batch size, if any. */
  private largestPreferredPrefix(batch: QueuedJob[]): QueuedJob[] | undefined {
    const sizes = new Set(this.options.preferredBatchSizes);
    let rows = 0;
    let best: number | undefined;
    batch.forEach((job, i) => {
      rows += job.rows;
      if (sizes.has(rows)) best = i + 1;
    });
    return best === undefined ? undefined : batch.slice(0, best);
  }

  private async execute(batch: QueuedJob[]): Promise<void> {
    this.runningBatches++;
    this.runningJobs += batch.length;
    const started = this.now();
    const ended = this.options.observer?.batchStarted(this.options.model, this.model.device, batch, batch.reduce((n, j) => n + j.rows, 0));
    try {
      const outputs = batch[0]!.outputs;
      if (batch.length === 1) {
        const job = batch[0]!;
        const result = await this.model.run(job.inputs, outputs);
        ended?.();
        this.settle(batch, [result], started);
      } else {
        const result = await this.model.run(concatInputs(batch.map((j) => j.inputs)), outputs);
        const parts = splitOutputs(result, batch.map((j) => j.rows));
        if (parts === undefined) {
          throw new WeftError(
            ErrorCode.InferenceFailed,
            `model '${this.options.model}' does not keep the batch dimension in its outputs; set "max_batch_size": 0 in its config.json`,
          );
        }
        ended?.();
        this.settle(batch, parts, started);
      }
    } catch (err) {
      const error =
        err instanceof WeftError
          ? err
          : new WeftError(ErrorCode.InferenceFailed, `model '${this.options.model}' failed: ${(err as Error).message}`, { cause: err });
      ended?.(error);
      for (const job of batch) job.reject(error);
    } finally {
      this.runningBatches--;
      this.runningJobs -= batch.length;
      if (this.runningBatches === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      if (!this.queue.isStopped) this.pump();
    }
  }

  private settle(batch: QueuedJob[], parts: Record<string, Tensor>[], started: number): void {
    const done = this.now();
    const computeMs = done - started;
    this.avgComputeMs = this.avgComputeMs * 0.8 + computeMs * 0.2;
    const batchSize = batch.reduce((n, j) => n + j.rows, 0);
    this.profile?.record(batchSize, computeMs);
    batch.forEach((job, i) => {
      job.resolve({ outputs: parts[i]!, batchSize, batchRequests: batch.length, queueMs: started - job.enqueuedAt, computeMs });
    });
  }
}
