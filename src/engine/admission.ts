// Admission, the one owner for every model kind: a bounded queue with priority levels (level 1
// first, strictly), weighted fair between tenants within a level and FIFO within a tenant, refused at once with QUEUE_FULL when full, each entry dropped with
// QUEUE_TIMEOUT or CANCELLED when its wait or its client ends. What runs the admitted work sits
// behind it: the dynamic batcher for tensor models (scheduler.ts), the slot pool for language
// models (slot-queue.ts).
//
// Ownership: an entry pushed is either taken out by its runner (`remove`, then the runner owns
// it) or rejected exactly once by this queue (timeout, abort, stop).

import { ErrorCode, QueueFullError, WeftError, abortError } from '../errors.js';

/** Whose call this is, for fair queueing: the authenticated tenant and its weight (--tenant-weight). */
export interface FairShare {
  tenant: string;
  weight: number;
}

/** Calls without a tenant (auth off, or an internal call) share one, of weight 1. */
export const NO_TENANT: FairShare = { tenant: '', weight: 1 };

/**
 * A weighted fair queue (one per priority level here, and the fair gate's in auth/limits.ts), between tenants by self-clocked fair queuing: a call's tag is
 * its tenant's last tag (or the level's virtual time, when that is later) plus 1 / weight, and
 * calls are served in tag order. A tenant of weight 3 gets three turns to another's one while
 * both wait; a tenant alone is served FIFO; a flood only queues behind itself.
 */
export class FairQueue<T> {
  private readonly queue: Array<{ item: T; tag: number }> = [];
  /** The tag of the last call served. */
  private virtualTime = 0;
  private readonly lastTag = new Map<string, number>();

  get length(): number {
    return this.queue.length;
  }

  push(item: T, share: FairShare): number {
    const tag = Math.max(this.virtualTime, this.lastTag.get(share.tenant) ?? 0) + 1 / share.weight;
    this.lastTag.set(share.tenant, tag);
    // After every call with the same tag or less: FIFO among equals.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid]!.tag <= tag) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, { item, tag });
    return tag;
  }

  /** Takes an item out; `served` moves the virtual time to its tag. */
  delete(item: T, served: boolean): void {
    const i = this.queue.findIndex((e) => e.item === item);
    if (i < 0) return;
    const { tag } = this.queue.splice(i, 1)[0]!;
    if (!served || tag <= this.virtualTime) return;
    this.virtualTime = tag;
    // A tenant whose last tag is behind the virtual time is as good as new: forget it.
    if (this.lastTag.size > 64) for (const [t, last] of this.lastTag) if (last <= this.virtualTime) this.lastTag.delete(t);
  }

  first(): T | undefined {
    return this.queue[0]?.item;
  }

  items(): T[] {
    return this.queue.map((e) => e.item);
  }
}

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
  /** One fair queue per priority level; index 0 is level 1. */
  private readonly levels: Array<FairQueue<T>>;
  private readonly entries = new Map<T, Entry>();
  private stopped = false;

  constructor(private readonly options: AdmissionOptions) {
    this.levels = Array.from({ length: options.priorityLevels }, () => new FairQueue<T>());
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
  push(item: T, priority: number, timeoutMs: number, signal: AbortSignal | undefined, reject: (err: Error) => void, share: FairShare = NO_TENANT): void {
    const drop = (err: Error) => {
      this.detach(item, false);
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
    this.levels[priority - 1]!.push(item, share);
  }

  /** Takes an item out (its runner takes it over) and detaches its timer and abort listener. */
  remove(item: T): void {
    this.detach(item, true);
  }

  /** `served`: its runner took it (the level's fair clock moves on); else it was dropped. */
  private detach(item: T, served: boolean): void {
    const entry = this.entries.get(item);
    if (entry === undefined) return;
    this.entries.delete(item);
    this.levels[entry.priority - 1]!.delete(item, served);
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
  }

  head(): T | undefined {
    for (const level of this.levels) if (level.length > 0) return level.first();
    return undefined;
  }

  /** Every queued item in the order it is due: highest priority first, fair order within a level. */
  *ordered(): Iterable<T> {
    for (const level of this.levels) yield* level.items();
  }

  /** Refuses new entries and rejects every queued one with SHUTTING_DOWN. */
  stop(): void {
    this.stopped = true;
    for (const item of [...this.ordered()]) {
      const entry = this.entries.get(item)!;
      this.detach(item, false);
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

