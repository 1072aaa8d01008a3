// Admission for a language model: `slots` generations run at once (one per sequence of its
// context); the rest wait in a bounded queue with priority levels, and a full queue refuses at
// once with QUEUE_FULL. Unlike the tensor batcher there is nothing to batch here: llama.cpp
// already decodes every running sequence in one batch per step.
//
// Ownership: `acquire` resolves with a release function that the caller must call exactly once;
// a rejected `acquire` (QUEUE_FULL, QUEUE_TIMEOUT, CANCELLED, SHUTTING_DOWN) holds nothing.

import { ErrorCode, QueueFullError, WeftError } from '../errors.js';
import { queueTimer } from './scheduler.js';

export interface SlotQueueOptions {
  model: string;
  /** Generations at once; Infinity never queues. */
  slots: number;
  maxQueueSize: number;
  priorityLevels: number;
  now?: () => number;
}

interface Waiter {
  priority: number;
  grant: (release: () => void) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
}

export class SlotQueue {
  /** One FIFO per priority level; index 0 is level 1. */
  private readonly queues: Waiter[][];
  private running = 0;
  private queuedCount = 0;
  private stopped = false;
  /** Moving average of how long a slot is held, for Retry-After. */
  private avgHoldMs = 1000;
  private readonly now: () => number;

  constructor(private readonly options: SlotQueueOptions) {
    this.queues = Array.from({ length: options.priorityLevels }, () => []);
    this.now = options.now ?? (() => performance.now());
  }

  get inflight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queuedCount;
  }

  acquire(priority: number, timeoutMs: number, signal: AbortSignal): Promise<() => void> {
    if (this.stopped) return Promise.reject(new WeftError(ErrorCode.ShuttingDown, `model '${this.options.model}' is stopping`));
    if (signal.aborted) return Promise.reject(cancelled());
    if (this.running < this.options.slots && this.queuedCount === 0) return Promise.resolve(this.grant());
    if (this.queuedCount >= this.options.maxQueueSize) {
      const perSlot = Number.isFinite(this.options.slots) ? this.options.slots : 1;
      const retry = Math.max(1, Math.ceil((this.avgHoldMs * Math.ceil((this.queuedCount + 1) / perSlot)) / 1000));
      return Promise.reject(new QueueFullError(this.options.model, this.options.maxQueueSize, retry));
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues[priority - 1]!;
      const onAbort = () => {
        waiter.cleanup();
        reject(cancelled());
      };
      const timer = setTimeout(() => {
        waiter.cleanup();
        reject(new WeftError(ErrorCode.QueueTimeout, `request waited ${timeoutMs} ms in the queue of model '${this.options.model}'`));
      }, queueTimer(timeoutMs));
      const waiter: Waiter = {
        priority,
        grant: resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          const i = queue.indexOf(waiter);
          if (i >= 0) {
            queue.splice(i, 1);
            this.queuedCount--;
          }
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      this.queuedCount++;
    });
  }

  /** Rejects everything waiting; running generations keep their slots until released. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues) {
      for (const waiter of [...queue]) {
        waiter.cleanup();
        waiter.reject(new WeftError(ErrorCode.ShuttingDown, `model '${this.options.model}' is stopping`));
      }
    }
  }

  private grant(): () => void {
    this.running++;
    const started = this.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.avgHoldMs = this.avgHoldMs * 0.8 + (this.now() - started) * 0.2;
      this.next();
    };
  }

  private next(): void {
    while (this.running < this.options.slots) {
      const waiter = this.queues.find((q) => q.length > 0)?.[0];
      if (waiter === undefined) return;
      waiter.cleanup();
      waiter.grant(this.grant());
    }
  }
}

function cancelled(): WeftError {
  return new WeftError(ErrorCode.Cancelled, 'the client cancelled the request');
}
