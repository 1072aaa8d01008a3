// Admission, the one owner for every model kind: a bounded queue with priority levels (one FIFO
// per level, level 1 first), refused at once with QUEUE_FULL when full, each entry dropped with
// QUEUE_TIMEOUT or CANCELLED when its wait or its client ends. What runs the admitted work sits
// behind it: the dynamic batcher for tensor models (scheduler.ts), the slot pool for language
// models (slot-queue.ts).
//
// Ownership: an entry pushed is either taken out by its runner (`remove`, then the runner owns
// it) or rejected exactly once by this queue (timeout, abort, stop).

import { ErrorCode, QueueFullError, WeftError, abortError } from '../errors.js';

export interface AdmissionOptions {
  model: string;
  maxQueueSize: number;
  priorityLevels: number;
}

interface Entry {
  priority: number;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The priority of a call: the model's default when unset, else an integer from 1 (highest) to the model's levels. */
export function checkPriority(requested: number | undefined, config: { priorityLevels: number; defaultPriorityLevel: number }, field: string): number {
  const priority = requested ?? config.defaultPriorityLevel;
  if (!Number.isInteger(priority) || priority < 1 || priority > config.priorityLevels) {
    throw new WeftError(ErrorCode.BadRequest, `priority must be an integer from 1 (highest) to ${config.priorityLevels}`, { field });
  }
  return priority;
}

export class AdmissionQueue<T extends object> {
  /** One FIFO per priority level; index 0 is level 1. */
  private readonly levels: T[][];
  private readonly entries = new Map<T, Entry>();
  private stopped = false;

  constructor(private readonly options: AdmissionOptions) {
    this.levels = Array.from({ length: options.priorityLevels }, () => []);
  }

  get size(): number {
    return this.entries.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Why a new entry cannot be queued now (stopping, already cancelled, full), or undefined. */
  refusal(signal: AbortSignal | undefined, retryAfterSeconds: () => number): WeftError | undefined {
    if (this.stopped) return new WeftError(ErrorCode.ShuttingDown, `model '${this.options.model}' is stopping`);
    if (signal?.aborted) return abortError(signal);
    if (this.entries.size >= this.options.maxQueueSize) return new QueueFullError(this.options.model, this.options.maxQueueSize, retryAfterSeconds());
    return undefined;
  }

  /** Queues an item (after `refusal` said none); `reject` is called if the queue drops it. */
  push(item: T, priority: number, timeoutMs: number, signal: AbortSignal | undefined, reject: (err: Error) => void): void {
    const drop = (err: Error) => {
      this.remove(item);
      reject(err);
    };
    const entry: Entry = {
      priority,
      reject,
      signal,
      onAbort: signal === undefined ? undefined : () => drop(abortError(signal)),
      timer: setTimeout(
        () => drop(new WeftError(ErrorCode.QueueTimeout, `request waited ${timeoutMs} ms in the queue of model '${this.options.model}' without running`)),
        queueTimer(timeoutMs),
      ),
    };
    if (entry.onAbort) signal!.addEventListener('abort', entry.onAbort, { once: true });
    this.entries.set(item, entry);
    this.levels[priority - 1]!.push(item);
  }

  /** Takes an item out (its runner takes it over) and detaches its timer and abort listener. */
  remove(item: T): void {
    const entry = this.entries.get(item);
    if (entry === undefined) return;
    this.entries.delete(item);
    const level = this.levels[entry.priority - 1]!;
    level.splice(level.indexOf(item), 1);
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
  }

  head(): T | undefined {
    for (const level of this.levels) if (level.length > 0) return level[0];
    return undefined;
  }

  /** Every queued item, highest priority first, FIFO within a level. */
  *ordered(): Iterable<T> {
    for (const level of this.levels) yield* [...level];
  }

  /** Refuses new entries and rejects every queued one with SHUTTING_DOWN. */
  stop(): void {
    this.stopped = true;
    for (const item of [...this.ordered()]) {
      const entry = this.entries.get(item)!;
      this.remove(item);
      entry.reject(new WeftError(ErrorCode.ShuttingDown, `model '${this.options.model}' is stopping`));
    }
  }
}

/** setTimeout's longest delay; a longer one would fire at once (Node clamps it to 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A queue timeout setTimeout can hold: a huge `timeout` parameter means "wait as long as possible". */
export function queueTimer(timeoutMs: number): number {
  return Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS);
}

