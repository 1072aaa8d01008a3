// A local mirror of one KV bucket: a watch keeps key → decoded value, revision and server time
// up to date. Every value goes through its schema; a malformed one is logged and dropped (the
// key keeps its last good value). A watch that ends (a server lost) is started again.

import type { KV, KvEntry } from '@nats-io/kv';
import type { z } from 'zod';
import { decode } from './messages.js';
import type { Logger } from '../telemetry/index.js';

/** A failed watch is started again after this, doubling while it keeps failing, up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;
/** For a malformed value already logged once. */
const QUIET: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface Mirrored<T> {
  value: T;
  revision: number;
  /** Server time of the write, epoch ms. */
  created: number;
  /** The server holds a newer value, at `revision`, that failed its schema: `value` is the last good one. */
  unreadable?: true;
}

export class BucketMirror<T> {
  readonly entries = new Map<string, Mirrored<T>>();
  private stopped = false;
  /** Epoch ms of the last message or watch start: a quiet watch may be a dead one. */
  lastHeard = Date.now();
  private watcher: { stop(): void } | undefined;
  /** A failed watch is logged once until one works again, and retried less often the longer it fails. */
  private failing = false;
  private retryMs = RETRY_MIN_MS;
  /** Revision of each key's malformed value already logged: a watch restart reads it again, quietly. */
  private readonly malformed = new Map<string, number>();
  private readyResolve!: () => void;
  /** Resolved once the watch has delivered the bucket's current values. */
  readonly ready = new Promise<void>((resolve) => (this.readyResolve = resolve));

  constructor(
    readonly kv: KV,
    private readonly name: string,
    private readonly schema: z.ZodType<T>,
    private readonly log: Logger,
    private readonly onChange: (key: string) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    void this.run();
    await this.ready;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const iter = await this.kv.watch({ key: '>' });
        this.watcher = iter;
        this.lastHeard = Date.now();
        // Keys seen in this watch's initial values; on a restart the others were deleted meanwhile.
        let seen: Set<string> | undefined = new Set();
        const settle = () => {
          if (seen === undefined) return;
          for (const key of [...this.entries.keys()]) if (!seen.has(key) && this.entries.delete(key)) this.onChange(key);
          seen = undefined;
          this.readyResolve();
        };
        // The last current value comes flagged as an update; an empty bucket sends none.
        const timer = setTimeout(settle, 300);
        timer.unref();
        if (this.failing) this.log.info('fleet: bucket watch works again', { bucket: this.name });
        this.failing = false;
        this.retryMs = RETRY_MIN_MS;
        for await (const e of iter) {
          this.lastHeard = Date.now();
          seen?.add(e.key);
          this.apply(e);
          if (e.isUpdate) {
            clearTimeout(timer);
            settle();
          }
        }
      } catch (err) {
        if (this.stopped) return;
        if (!this.failing) this.log.warn('fleet: bucket watch failed; starting it again (logged once until it works)', { bucket: this.name, error: (err as Error).message });
        this.failing = true;
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.retryMs).unref());
      if (this.failing) this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    }
  }

  private apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      if (this.entries.delete(e.key)) this.onChange(e.key);
      return;
    }
    const logged = this.malformed.get(e.key) === e.revision;
    const value = decode(this.schema, e.value, `${this.name}/${e.key}`, logged ? QUIET : this.log);
    if (value === undefined) this.malformed.set(e.key, e.revision);
    else this.malformed.delete(e.key);
    if (value === undefined) {
      // Keep the last good value, at the server's revision, so that its writer's next
      // compare-and-set repairs the key instead of losing the race to it forever.
      const stale = this.entries.get(e.key);
      if (stale !== undefined) this.entries.set(e.key, { ...stale, revision: e.revision, unreadable: true });
      return;
    }
    this.entries.set(e.key, { value, revision: e.revision, created: e.created.getTime() });
    this.onChange(e.key);
  }

  get(key: string): Mirrored<T> | undefined {
    return this.entries.get(key);
  }

  /** Re-reads one key from the server (after a lost compare-and-set). */
  async refresh(key: string): Promise<Mirrored<T> | undefined> {
    const e = await this.kv.get(key);
    if (e === null || e.operation !== 'PUT') {
      this.entries.delete(key);
      return undefined;
    }
    this.apply(e);
    return this.entries.get(key);
  }

  /** Watches again from the current values (after a reconnect: a consumer on a lost server may be stale). */
  restart(): void {
    this.watcher?.stop();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }
}
