// One app's component workers: up to `concurrency` warm workers, each handling one request at a
// time, with a bounded wait queue in front. A request past its deadline has its worker ended
// (a spinning Wasm loop only stops that way) and replaced; a worker that dies takes only its
// own request with it.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ErrorCode, WeftError, type ErrorCode as Code, abortError } from '../errors.js';
import type { Engine } from '../engine/index.js';
import type { Logger, RequestScope } from '../telemetry/index.js';
import { workerEntry } from '../worker-entry.js';
import { FACTORS, HandleTable, type Grants, type HostContext } from './factors/index.js';
import type { AppRequest, AppResponse, BridgeRequest, FromWorker, WorkerInit } from './protocol.js';

const WORKER = workerEntry(import.meta.url, 'worker');

/** Requests that may wait per allowed concurrent request before APP_BUSY. */
const QUEUE_FACTOR = 32;
/** How long a worker thread may take to load the component's glue before its start function runs. */
const WORKER_BOOT_MS = 30_000;

/**
 * Wasm memory never shrinks: an instance that once decoded a 40-megapixel image holds its
 * ~480 MiB for good (eight such requests left the OCR example's node at 1.6 GiB RSS, 1.2 GiB of
 * it in two idle workers). So a worker is ended, its memory with it, and a fresh one takes its
 * place: at once after a request that left its instance past a quarter of the memory limit
 * (retainedMemoryBytes), and once it has sat idle for IDLE_SHRINK_MS holding more than
 * SMALL_MEMORY_BYTES — a burst of large requests keeps its warm workers, an idle node gives the
 * memory back (twelve 60 MB bodies to /apps/ocr had left three workers of 117 MB each).
 */
const SMALL_MEMORY_BYTES = 64 * 1024 ** 2;
const IDLE_SHRINK_MS = 5_000;

function retainedMemoryBytes(limit: number): number {
  return Math.min(limit, Math.max(SMALL_MEMORY_BYTES, Math.floor(limit / 4)));
}

export interface PoolOptions {
  app: string;
  moduleUrl: string;
  modules: Record<string, WebAssembly.Module>;
  grants: Grants;
  perRequest: boolean;
  memoryBytes: number;
  deadlineMs: number;
  concurrency: number;
  engine: Engine;
  log: Logger;
  onInstanceStart: ((app: string) => void) | undefined;
}

interface Running {
  id: number;
  resolve: (r: AppResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Aborted when the request ends, however it ends: stops its host work (generations). */
  abort: AbortController;
  handles: HandleTable;
  /** The request's telemetry: its model calls become child spans of it. */
  scope: RequestScope | undefined;
}

type HostOp = (ctx: HostContext, payload: never) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;
const HOST_OPS = new Map<string, HostOp>(FACTORS.flatMap((f) => Object.entries(f.host ?? {}).map(([op, fn]) => [`${f.interface}#${op}`, fn as HostOp])));

/** A request is over: streams it left open stop and give their model slots back. */
function ended(r: Running, why: Error): void {
  r.abort.abort(why);
  void r.handles.closeAll();
}

class ComponentWorker {
  readonly worker: Worker;
  readonly ready: Promise<number>;
  private readonly bridge: MessagePort;
  /** Linear memory this worker may keep after a request. */
  private readonly retainBytes: number;
  running: Running | undefined;
  dead = false;
  /** Whether the instance came up (a worker that never did is not replaced unasked). */
  started = false;
  /** Set while the worker sits idle holding more than SMALL_MEMORY_BYTES: it ends when this fires. */
  shrinkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: ComponentPool,
    o: PoolOptions,
  ) {
    const flag = new SharedArrayBuffer(4);
    const flagView = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    this.bridge = port1;
    this.retainBytes = retainedMemoryBytes(o.memoryBytes);
    const init: WorkerInit = {
      app: o.app,
      grants: o.grants,
      moduleUrl: o.moduleUrl,
      modules: o.modules,
      perRequest: o.perRequest,
      memoryBytes: o.memoryBytes,
      flag,
      port: port2,
    };
    // resourceLimits bound the worker's JS heap (the glue's copies); Wasm memory is capped in the module.
    this.worker = new Worker(WORKER[0], { ...WORKER[1], workerData: init, transferList: [port2], resourceLimits: { maxOldGenerationSizeMb: 256 } });
    o.onInstanceStart?.(o.app);
    port1.on('message', (m: BridgeRequest) => {
      const running = this.running;
      const op = HOST_OPS.get(m.op);
      const answer = (value: unknown, transfer: ArrayBuffer[] = []) => {
        port1.postMessage(value, transfer);
        Atomics.store(flagView, 0, 1);
        Atomics.notify(flagView, 0);
      };
      if (running === undefined || op === undefined) return answer({ tag: 'err', val: { code: 'failed', message: `no host operation ${m.op}` } });
      const ctx: HostContext = { app: o.app, grants: o.grants, engine: o.engine, signal: running.abort.signal, handles: running.handles, scope: running.scope };
      op(ctx, m.payload as never).then(
        (a) => answer(a.value, a.transfer),
        (err: unknown) => answer({ tag: 'err', val: { code: 'failed', message: (err as Error).message } }),
      );
    });
    this.ready = new Promise((resolve, reject) => {
      const refuse = (message: string) => {
        const err = new WeftError(ErrorCode.ComponentRefused, message);
        reject(err);
        this.died(err);
      };
      // Starting a worker thread and loading the glue is the host's work, slow on a loaded
      // machine: it gets its own bound. The component's start function runs at instantiation,
      // after `booted`: that gets the request deadline, as a request would.
      let startTimer = setTimeout(() => refuse(`the component's worker did not load within ${WORKER_BOOT_MS} ms`), WORKER_BOOT_MS);
      this.worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'booted':
            clearTimeout(startTimer);
            startTimer = setTimeout(() => refuse(`the component did not start within ${o.deadlineMs} ms (component.limits.deadline)`), o.deadlineMs);
            return;
          case 'ready':
            clearTimeout(startTimer);
            this.started = true;
            return resolve(m.instantiateMs);
          case 'failed': {
            clearTimeout(startTimer);
            const err = new WeftError(m.error.code as Code, m.error.message);
            reject(err);
            return this.died(err);
          }
          case 'log':
            return o.log[(['debug', 'info', 'warn', 'error'] as const).find((l) => l === m.level) ?? 'info']('component log', { app: o.app, message: m.message });
          case 'result':
            return this.settle(m.id, undefined, m.response, m.memoryBytes);
          case 'error':
            return this.settle(m.id, new WeftError(m.error.code as Code, m.error.message), undefined, m.memoryBytes);
        }
      });
      this.worker.on('error', (err) => {
        clearTimeout(startTimer);
        reject(err);
        this.died(new WeftError(ErrorCode.ComponentTrapped, `the component's worker failed: ${err.message}`));
      });
      this.worker.on('exit', () => {
        clearTimeout(startTimer);
        const err = new WeftError(ErrorCode.ComponentTrapped, "the component's worker exited");
        reject(err);
        this.died(err);
      });
    });
    this.ready.catch(() => undefined);
  }

  run(id: number, request: AppRequest, deadlineMs: number, scope: RequestScope | undefined): Promise<AppResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.died(new WeftError(ErrorCode.ComponentDeadline, `the component did not answer within its deadline of ${deadlineMs} ms (component.limits.deadline)`));
      }, deadlineMs);
      this.running = { id, resolve, reject, timer, abort: new AbortController(), handles: new HandleTable(), scope };
      const body = request.body.byteOffset === 0 && request.body.byteLength === request.body.buffer.byteLength ? request.body : request.body.slice();
      this.worker.postMessage({ type: 'handle', id, request: { ...request, body } }, [body.buffer as ArrayBuffer]);
    });
  }

  private settle(id: number, err: Error | undefined, response: AppResponse | undefined, memoryBytes: number): void {
    const r = this.running;
    if (r === undefined || r.id !== id) return;
    this.running = undefined;
    clearTimeout(r.timer);
    ended(r, new WeftError(ErrorCode.Cancelled, 'the request ended'));
    if (err) r.reject(err);
    else r.resolve(response!);
    if (memoryBytes > this.retainBytes) this.end();
    else this.pool.released(this, memoryBytes);
  }

  /** Ends the worker: its request (if any) fails with `err`, the pool replaces it. */
  died(err: Error): void {
    if (this.dead) return;
    const r = this.running;
    this.running = undefined;
    if (r) {
      clearTimeout(r.timer);
      ended(r, err);
      r.reject(err);
    }
    this.end();
  }

  /** Terminates the thread (its memory with it); the pool replaces it as needed. */
  end(): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.shrinkTimer);
    void this.worker.terminate();
    this.bridge.close();
    this.pool.removed(this);
  }
}

interface Waiter {
  take(w: ComponentWorker): void;
  fail(err: unknown): void;
}

export class ComponentPool {
  private readonly idle: ComponentWorker[] = [];
  private readonly all = new Set<ComponentWorker>();
  private readonly waiting: Waiter[] = [];
  private nextId = 1;
  private closed = false;
  /** Requests taken and not yet answered (waiting for a worker or running). */
  private active = 0;
  /** Set while draining: no warm worker is kept, and the drain is told when the last request ends. */
  private drained: (() => void) | undefined;

  constructor(private readonly o: PoolOptions) {}

  /** Starts one warm worker; resolves with its instantiate time or rejects with why it failed. */
  async start(): Promise<number> {
    const w = this.spawn();
    const ms = await w.ready;
    this.idle.push(w);
    return ms;
  }

  async handle(request: AppRequest, signal?: AbortSignal, scope?: RequestScope): Promise<AppResponse> {
    this.active++;
    try {
      const w = await this.acquire(signal);
      if (this.o.perRequest) this.o.onInstanceStart?.(this.o.app);
      return await w.run(this.nextId++, request, this.o.deadlineMs, scope);
    } finally {
      if (--this.active === 0) this.drained?.();
    }
  }

  /**
   * Lets the requests already taken (running or waiting) finish, then ends the workers; those
   * still going after `timeoutMs` fail with SHUTTING_DOWN. Each request is bounded by its
   * deadline anyway; the timeout bounds a long queue.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    await this.close();
  }

  /** Workers alive (busy or idle). */
  size(): number {
    return this.all.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.all];
    for (const w of workers) w.died(new WeftError(ErrorCode.ShuttingDown, `app '${this.o.app}' is being removed`));
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private spawn(): ComponentWorker {
    const w = new ComponentWorker(this, this.o);
    this.all.add(w);
    return w;
  }

  private async acquire(signal?: AbortSignal): Promise<ComponentWorker> {
    if (this.closed) throw new WeftError(ErrorCode.ShuttingDown, `app '${this.o.app}' is being removed`);
    const idle = this.idle.pop();
    if (idle) {
      clearTimeout(idle.shrinkTimer);
      return idle;
    }
    if (this.all.size < this.o.concurrency) {
      const w = this.spawn();
      await w.ready;
      return w;
    }
    if (this.waiting.length >= this.o.concurrency * QUEUE_FACTOR) {
      throw new WeftError(ErrorCode.AppBusy, `app '${this.o.app}' is busy (${this.waiting.length} requests waiting); retry later`, { retryAfterSeconds: 1 });
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        take: (w) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(w);
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err as Error);
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** A worker finished a request, its instance holding `memoryBytes`. */
  released(w: ComponentWorker, memoryBytes = 0): void {
    const next = this.waiting.shift();
    if (next) return next.take(w);
    this.idle.push(w);
    if (memoryBytes > SMALL_MEMORY_BYTES) w.shrinkTimer = setTimeout(() => this.idle.includes(w) && w.end(), IDLE_SHRINK_MS).unref();
  }

  /** A worker died; a replacement takes the next waiting request (which fails if it cannot start). */
  removed(w: ComponentWorker): void {
    this.all.delete(w);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closed) {
      for (const waiter of this.waiting.splice(0)) waiter.fail(new WeftError(ErrorCode.ShuttingDown, `app '${this.o.app}' is being removed`));
      return;
    }
    const next = this.waiting.shift();
    // Keep one warm worker: a killed runaway is replaced now, not on the next request (unless
    // the app is draining: then only waiting requests need one).
    if (next === undefined && (this.all.size > 0 || !w.started || this.drained !== undefined)) return;
    const fresh = this.spawn();
    fresh.ready.then(
      () => (next ? next.take(fresh) : this.released(fresh)),
      (err: unknown) => next?.fail(err),
    );
  }
}
