// The slot pool of a language model, behind the one admission queue (admission.ts): `slots`
// generations run at once (one per sequence of its context); the rest wait in admission. Unlike
// the tensor batcher there is nothing to batch here: llama.cpp already decodes every running
// sequence in one batch per step.
//
// Ownership: `acquire` resolves with a release function that the caller must call exactly once;
// a rejected `acquire` (QUEUE_FULL, QUEUE_TIMEOUT, CANCELLED, SHUTTING_DOWN) holds nothing.

import { ErrorCode } from '../errors.js';
import { AdmissionQueue, type FairShare } from './admission.js';

export interface SlotQueueOptions {
  model: string;
  /** Generations at once; Infinity never queues. */
  slots: number;
  maxQueueSize: number;
  priorityLevels: number;
  now?: () => number;
}

interface Waiter {
  grant: (release: () => void) => void;
}

export class SlotQueue {
  private readonly queue: AdmissionQueue<Waiter>;
  private running = 0;
  /** Moving average of how long a slot is held, for Retry-After. */
  private avgHoldMs = 1000;
  private readonly now: () => number;

  constructor(private readonly options: SlotQueueOptions) {
    this.queue = new AdmissionQueue(options);
    this.now = options.now ?? (() => performance.now());
  }

  get inflight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.size;
  }

  acquire(priority: number, timeoutMs: number, signal: AbortSignal, share?: FairShare): Promise<() => void> {
    const free = this.running < this.options.slots && this.queue.size === 0;
    const refused = this.queue.refusal(signal, () => this.retryAfterSeconds());
    // A free slot admits at once; a full queue only refuses when the call would have to wait.
    if (refused && !(free && refused.code === ErrorCode.QueueFull)) return Promise.reject(refused);
    if (free) return Promise.resolve(this.grant());
    return new Promise((resolve, reject) => this.queue.push({ grant: resolve }, priority, timeoutMs, signal, reject, share));
  }

  /** Rejects everything waiting; running generations keep their slots until released. */
  stop(): void {
    this.queue.stop();
  }

  private retryAfterSeconds(): number {
    const perSlot = Number.isFinite(this.options.slots) ? this.options.slots : 1;
    return Math.max(1, Math.ceil((this.avgHoldMs * Math.ceil((this.queue.size + 1) / perSlot)) / 1000));
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
      const waiter = this.queue.head();
      if (waiter === undefined) return;
      this.queue.remove(waiter);
      waiter.grant(this.grant());
    }
  }
}
