// The models of one node and their lifecycle: load on first use or at start, count references,
// keep idle models for their keep_alive, and evict the least recently used idle ones when a
// device's memory budget would be exceeded. Inference goes through each model's scheduler.

import { statSync } from 'node:fs';
import { ErrorCode, WeftError } from '../errors.js';
import { formatBytes } from '../config/index.js';
import type { Backend, Device, LoadedModel, ModelSignature } from '../backends/index.js';
import type { EngineObserver } from '../telemetry/index.js';
import type { ModelDefinition } from './repository.js';
import type { ModelConfig } from './model-config.js';
import { ModelFile } from './model-file.js';
import { DynamicBatchScheduler, type Job, type JobResult } from './scheduler.js';
import { validateCall } from './validate.js';
import { checkPriority } from './admission.js';

export const ModelStates = ['unloaded', 'loading', 'ready', 'unloading', 'unavailable'] as const;
export type ModelState = (typeof ModelStates)[number];

export interface ModelVersionStatus {
  name: string;
  version: number;
  state: ModelState;
  /** Why the model is unavailable, when it is. */
  reason: string | undefined;
  device: Device | undefined;
  /** Bytes counted against the budget: the declared memory, else the larger of the file's size and what loading it measured (all instances). */
  memoryBytes: number;
  /** Bytes measured at load (the backend's figure), when loaded and measured. */
  measuredBytes: number | undefined;
  /** With adaptive batching, loaded: the batch size the batcher chose and why. */
  batching?: string;
  /** Loaded, once the backend chose: its thread count and why. */
  threads?: string;
  inflight: number;
  queued: number;
}

export interface InferRequest extends Omit<Job, 'priority' | 'timeoutMs'> {
  /** 1 is the highest; undefined takes the model's default level. */
  priority?: number;
  /** Queue timeout in milliseconds; undefined takes the model's default. */
  timeoutMs?: number;
}

export interface InferResult extends JobResult {
  model: string;
  version: number;
}

/** A loaded model of another kind (a language model) held in this manager's budget. */
export interface Resident {
  readonly name: string;
  readonly device: Device;
  readonly bytes: number;
  /** Running, queued or loading: never evicted then. */
  busy(): boolean;
  /** Its last use on the budget's clock (`tick()`). */
  lastUsed(): number;
  /** Unloads it; must give its bytes back (call the release) before returning. */
  evict(): void;
}

export interface ModelManagerOptions {
  backend: Backend;
  /** Bytes per device that loaded models may take. */
  memoryBudget: Record<Device, number>;
  log: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  /** Told about batches, loads and evictions (metrics, spans, energy). */
  observer?: EngineObserver;
}

/** One version of one model: its state, its loaded session and its scheduler. */
class ModelVersion {
  state: ModelState = 'unloaded';
  reason: string | undefined;
  loaded: LoadedModel | undefined;
  scheduler: DynamicBatchScheduler | undefined;
  signature: ModelSignature | undefined;
  /** Effective max batch size once the signature is known. */
  maxBatchSize = 0;
  device: Device;
  /** Checked against its deploy-time digest before each load. */
  readonly file: ModelFile;
  memoryBytes = 0;
  /** The model file's size, read once. */
  fileBytes: number | undefined;
  /** What the backend measured the last time this version loaded (all instances); counted from then on unless memory is declared. */
  learnedBytes: number | undefined;
  /** Why the file could not be read as a model without loading it (a PNG, say). */
  unreadable: string | undefined;
  refs = 0;
  /** Unloaded through the repository API: refused until an explicit load, whatever traffic comes. */
  held = false;
  lastUsed = 0;
  loading: Promise<void> | undefined;
  releasing: Promise<void> | undefined;
  /** Resolved when `refs` drops to zero. */
  idleWaiters: Array<() => void> = [];
  keepAliveTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly path: string,
    readonly config: ModelConfig,
    digest: string | undefined,
  ) {
    this.device = config.device;
    this.file = new ModelFile(path, digest);
  }
}

export class ModelManager {
  private readonly models = new Map<string, Map<number, ModelVersion>>();
  private readonly used: Record<Device, number> = { cpu: 0, cuda: 0 };
  private readonly residents = new Set<Resident>();
  private useCounter = 0;

  constructor(
    definitions: readonly ModelDefinition[],
    private readonly options: ModelManagerOptions,
  ) {
    this.add(definitions);
  }

  /** Adds models at run time (an app deployed); a name already served is refused. */
  add(definitions: readonly ModelDefinition[]): void {
    for (const d of definitions) {
      if (this.models.has(d.name)) {
        throw new WeftError(ErrorCode.InvalidConfig, `model '${d.name}' is already served by this node`, { field: 'models' });
      }
    }
    for (const d of definitions) {
      const versions = new Map<number, ModelVersion>();
      for (const [v, path] of [...d.versions].sort((a, b) => a[0] - b[0])) versions.set(v, new ModelVersion(d.name, v, path, d.config, d.digests?.get(v)));
      for (const m of versions.values()) this.inspect(m);
      this.models.set(d.name, versions);
    }
  }

  /** Removes models (an app removed): in-flight requests finish, then the models are released. */
  async remove(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.unload(name);
      this.models.delete(name);
    }
  }

  get platform(): string {
    return this.options.backend.platform;
  }

  names(): string[] {
    return [...this.models.keys()].sort();
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  /** Versions of a model, ascending. */
  versions(name: string): number[] {
    return [...this.versionsOf(name).keys()];
  }

  status(): ModelVersionStatus[] {
    return this.names().flatMap((name) => [...this.versionsOf(name).values()].map((m) => this.statusOf(m)));
  }

  /** Per device: bytes held by loaded models (GGUF reservations included) against the budget. */
  memory(): Array<{ device: Device; usedBytes: number; budgetBytes: number }> {
    return (Object.keys(this.used) as Device[]).map((device) => ({ device, usedBytes: this.used[device], budgetBytes: this.options.memoryBudget[device] }));
  }

  /** Ready means an infer would run: loaded, or loadable on demand (not explicitly unloaded, and able to fit the budget); when not, why. */
  readiness(name: string, version?: number): { ready: boolean; reason: string | undefined } {
    const m = this.resolve(name, version);
    const status = this.statusOf(m);
    return { ready: status.state === 'ready' || status.state === 'unloaded' || status.state === 'loading', reason: status.reason };
  }

  /** Loads eagerly-configured models (latest version of each). */
  async loadEager(): Promise<void> {
    for (const name of this.names()) {
      const m = this.resolve(name);
      if (m.config.load === 'eager') await this.ensureLoaded(m);
    }
  }

  async signature(name: string, version?: number): Promise<{ version: number; signature: ModelSignature; maxBatchSize: number }> {
    const m = this.resolve(name, version);
    if (m.signature === undefined) {
      this.checkAvailable(m);
      // A file already found unreadable says so: asking for its metadata loads nothing.
      if (m.unreadable !== undefined && m.state === 'unloaded') throw new WeftError(ErrorCode.ModelUnavailable, `model '${m.name}' version ${m.version} is unavailable: ${m.unreadable}`);
      await this.ensureLoaded(m);
    }
    return { version: m.version, signature: m.signature!, maxBatchSize: m.maxBatchSize };
  }

  /** Explicit load (repository API): every version of the model; clears an explicit unload. */
  async load(name: string): Promise<void> {
    for (const m of this.versionsOf(name).values()) {
      m.held = false;
      if (m.state === 'unavailable') m.state = 'unloaded';
      m.reason = undefined;
      await this.ensureLoaded(m);
    }
  }

  /** Explicit unload (repository API): new requests are refused, in-flight ones finish, then the model is released. */
  async unload(name: string): Promise<void> {
    for (const m of this.versionsOf(name).values()) {
      m.held = true;
      m.state = 'unavailable';
      m.reason = 'unloaded';
      if (m.refs > 0) await new Promise<void>((resolve) => m.idleWaiters.push(resolve));
      await this.release(m);
      if (m.held) {
        m.state = 'unavailable';
        m.reason = 'unloaded';
      }
    }
  }

  /**
   * Runs one call, whoever makes it (a protocol route or a component): validated against the
   * model's signature here, so that only well-formed tensors ever share a batch.
   */
  async infer(name: string, version: number | undefined, request: InferRequest): Promise<InferResult> {
    const m = this.resolve(name, version);
    this.checkAvailable(m);
    const { queueTimeoutMs } = m.config;
    request.scope?.modelCallStarted();
    m.refs++;
    m.lastUsed = ++this.useCounter;
    clearTimeout(m.keepAliveTimer);
    try {
      await this.ensureLoaded(m);
      validateCall(request.inputs, request.outputs, m.signature!, { maxBatchSize: m.maxBatchSize, model: m.name });
      const priority = checkPriority(request.priority, m.config, 'parameters.priority');
      const result = await m.scheduler!.enqueue({ ...request, priority, timeoutMs: request.timeoutMs ?? queueTimeoutMs });
      // The inference.run span, its queue span and batch link, for every caller.
      request.scope?.modelCallDone(m.name, result);
      return { ...result, model: m.name, version: m.version };
    } finally {
      m.refs--;
      m.lastUsed = ++this.useCounter;
      if (m.refs === 0) {
        for (const wake of m.idleWaiters.splice(0)) wake();
        this.armKeepAlive(m);
      }
    }
  }

  /** Stops every scheduler (rejecting what is queued) and releases every model. */
  async shutdown(): Promise<void> {
    const all = this.names().flatMap((n) => [...this.versionsOf(n).values()]);
    await Promise.all(all.map((m) => this.release(m)));
  }

  private versionsOf(name: string): Map<number, ModelVersion> {
    const versions = this.models.get(name);
    if (versions === undefined) {
      throw new WeftError(ErrorCode.ModelNotFound, `model '${name}' is not served here (served: ${this.names().join(', ') || 'none'})`, {
        field: 'model_name',
      });
    }
    return versions;
  }

  private resolve(name: string, version?: number): ModelVersion {
    const versions = this.versionsOf(name);
    if (version === undefined) return [...versions.values()].at(-1)!;
    const m = versions.get(version);
    if (m === undefined) {
      throw new WeftError(ErrorCode.VersionNotFound, `model '${name}' has no version ${version} (versions: ${[...versions.keys()].join(', ')})`, {
        field: 'model_version',
      });
    }
    return m;
  }

  private checkAvailable(m: ModelVersion): void {
    if (m.held || m.state === 'unavailable') {
      const why = m.held ? `it was unloaded; POST /v2/repository/models/${m.name}/load to load it` : (m.reason ?? m.state);
      throw new WeftError(ErrorCode.ModelUnavailable, `model '${m.name}' version ${m.version} is unavailable: ${why}`);
    }
  }

  /**
   * Reads the file's signature without loading it, where the backend can: metadata then needs no
   * load, and a file that is no model (a PNG) is not reported ready. Loading it still reports why.
   */
  private inspect(m: ModelVersion): void {
    const { backend, log } = this.options;
    if (backend.describe === undefined) return;
    try {
      this.setSignature(m, backend.describe(m.path));
    } catch (err) {
      m.unreadable = `${m.path} is not a model this node can read: ${(err as Error).message}`;
      log.warn('model file is not a model', { model: m.name, version: m.version, path: m.path, error: (err as Error).message });
    }
  }

  private setSignature(m: ModelVersion, signature: ModelSignature): void {
    m.signature = signature;
    m.maxBatchSize = batchable(signature) ? m.config.maxBatchSize : 0;
  }

  /**
   * Bytes the model is counted for: the declared memory per instance; else the file's size per
   * instance, or what its last load measured when that was more (weights unpacked, graph, arenas).
   */
  private need(m: ModelVersion): number {
    m.fileBytes ??= statSync(m.path).size;
    if (m.config.memory !== undefined) return m.config.memory * m.config.instances;
    return Math.max(m.fileBytes * m.config.instances, m.learnedBytes ?? 0);
  }

  /** What `need` counts, in words. */
  private counted(m: ModelVersion): string {
    if (m.config.memory !== undefined) return `memory in its config.json${m.config.instances > 1 ? ` × ${m.config.instances} instances` : ''}`;
    if ((m.learnedBytes ?? 0) > m.fileBytes! * m.config.instances) return 'measured when it last loaded';
    return `its file size${m.config.instances > 1 ? ` × ${m.config.instances} instances` : ''}`;
  }

  /** Why the model can never load within its device's budget, if it cannot. */
  private neverFits(m: ModelVersion): string | undefined {
    const need = this.need(m);
    const budget = this.options.memoryBudget[m.device];
    if (need <= budget) return undefined;
    return `it needs ${formatBytes(need)} (${this.counted(m)}) but the ${m.device} memory budget is ${formatBytes(budget)} (--memory-budget)`;
  }

  private statusOf(m: ModelVersion): ModelVersionStatus {
    const cannot = m.state === 'unloaded' ? (m.unreadable ?? this.neverFits(m)) : undefined;
    const batching = m.scheduler?.batching();
    return {
      name: m.name,
      version: m.version,
      state: cannot ? 'unavailable' : m.state,
      reason: cannot ?? m.reason,
      device: m.loaded?.device,
      memoryBytes: m.memoryBytes,
      measuredBytes: m.loaded?.measuredBytes,
      ...(batching === undefined ? {} : { batching: batching.reason }),
      ...(m.loaded?.threads === undefined ? {} : { threads: m.loaded.threads }),
      inflight: m.scheduler?.inflight() ?? 0,
      queued: m.scheduler?.queuedCount() ?? 0,
    };
  }

  private async ensureLoaded(m: ModelVersion): Promise<void> {
    // An eviction or keep-alive unload may be under way; load again once it is done.
    while (m.releasing) await m.releasing;
    if (m.state === 'ready') return;
    this.checkAvailable(m);
    m.loading ??= this.doLoad(m).finally(() => {
      m.loading = undefined;
    });
    return m.loading;
  }

  private async doLoad(m: ModelVersion): Promise<void> {
    // Every instance holds its own session: the model's memory counts once per instance.
    const need = this.need(m);
    this.reserve(m, need);
    m.state = 'loading';
    const started = performance.now();
    try {
      await m.file.verify(m.name);
      const loaded = await this.options.backend.load(m.path, { device: m.config.device, intraOpThreads: m.config.intraOpThreads, instances: m.config.instances });
      this.used[m.device] -= need;
      m.device = loaded.device;
      this.used[m.device] += need;
      m.memoryBytes = need;
      m.loaded = loaded;
      this.countMeasured(m, loaded.measuredBytes);
      this.setSignature(m, loaded.signature);
      m.scheduler = new DynamicBatchScheduler(loaded, {
        model: m.name,
        maxBatchSize: m.maxBatchSize,
        preferredBatchSizes: m.config.preferredBatchSizes,
        maxQueueDelayUs: m.config.maxQueueDelayUs,
        maxQueueSize: m.config.maxQueueSize,
        instances: m.config.instances,
        priorityLevels: m.config.priorityLevels,
        adaptive: m.config.adaptiveBatching,
        observer: this.options.observer,
      });
      m.state = 'ready';
      m.lastUsed = ++this.useCounter;
      const ms = performance.now() - started;
      this.options.log.info('model loaded', { model: m.name, version: m.version, device: m.device, ms: Math.round(ms), countedBytes: m.memoryBytes, measuredBytes: loaded.measuredBytes });
      this.options.observer?.modelLoaded(m.name, m.device, ms);
      if (m.refs === 0) this.armKeepAlive(m);
    } catch (err) {
      this.used[m.device] -= m.memoryBytes || need;
      m.memoryBytes = 0;
      m.state = 'unavailable';
      m.reason = `load failed: ${(err as Error).message}`;
      throw new WeftError(ErrorCode.ModelLoadFailed, `model '${m.name}' version ${m.version} failed to load: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Counts a model held by another kind's service (a language model) in the same budget, and in
   * the same LRU eviction: it is evicted like an idle ONNX version when room is needed, never
   * while `busy()`. Throws MEMORY_BUDGET_EXCEEDED when no room can be made. Returns the release.
   */
  admitResident(resident: Resident): () => void {
    this.reserveOn(resident.name, resident.device, resident.bytes, resident);
    this.residents.add(resident);
    let held = true;
    return () => {
      if (held) {
        this.used[resident.device] -= resident.bytes;
        this.residents.delete(resident);
      }
      held = false;
    };
  }

  /** The budget's LRU clock: a resident calls it on every use. */
  tick(): number {
    return ++this.useCounter;
  }

  /** Makes room for `need` bytes on the model's device, evicting idle models least recently used first. */
  private reserve(m: ModelVersion, need: number): void {
    this.reserveOn(m.name, m.device, need, m);
  }

  /**
   * A load measured what the model takes: from now on it counts that (never less than its file).
   * Less than reserved gives the difference back; more makes room by evicting idle models, and
   * where none can go, the model stays (it is in memory already) and the budget is over until
   * something is released, which the log says.
   */
  private countMeasured(m: ModelVersion, measured: number | undefined): void {
    if (m.config.memory !== undefined || measured === undefined) return;
    m.learnedBytes = measured >= MEASURE_FLOOR_BYTES ? measured : undefined;
    const grown = this.need(m) - m.memoryBytes;
    if (grown === 0) return;
    if (grown > 0 && !this.makeRoom(m.device, grown, m)) {
      this.options.log.warn('model takes more memory than the budget has room for', { model: m.name, version: m.version, device: m.device, countedBytes: m.memoryBytes + grown, budgetBytes: this.options.memoryBudget[m.device], usedBytes: this.used[m.device] });
    }
    this.used[m.device] += grown;
    m.memoryBytes += grown;
  }

  private reserveOn(name: string, device: Device, need: number, self: ModelVersion | Resident): void {
    const budget = this.options.memoryBudget[device];
    if (need > budget) {
      // A tensor model says what it is counted for; a language model's figure is its estimate.
      const why = 'scheduler' in self ? this.neverFits(self) : undefined;
      throw new WeftError(ErrorCode.MemoryBudgetExceeded, `model '${name}' can never load here: ${why ?? `it needs ${formatBytes(need)} but the ${device} memory budget is ${formatBytes(budget)} (--memory-budget)`}`);
    }
    if (!this.makeRoom(device, need, self)) {
      throw new WeftError(
        ErrorCode.MemoryBudgetExceeded,
        `model '${name}' needs ${need} bytes; ${this.used[device]} of the ${device} budget of ${budget} are held by models in use`,
        { retryAfterSeconds: 1 },
      );
    }
    this.used[device] += need;
  }

  /** Evicts idle models of every kind on `device`, least recently used first, until `need` more bytes fit; false when they cannot. */
  private makeRoom(device: Device, need: number, self: ModelVersion | Resident): boolean {
    const budget = this.options.memoryBudget[device];
    const idle: Array<{ lastUsed: number; evict: () => void; name: string }> = [
      ...this.names()
        .flatMap((n) => [...this.versionsOf(n).values()])
        .filter((o) => o !== self && o.device === device && o.state === 'ready' && o.refs === 0)
        .map((o) => ({ name: o.name, lastUsed: o.lastUsed, evict: () => void this.release(o) })),
      ...[...this.residents]
        .filter((r) => r !== self && r.device === device && !r.busy())
        .map((r) => ({ name: r.name, lastUsed: r.lastUsed(), evict: () => r.evict() })),
    ].sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.used[device] + need > budget) {
      const victim = idle.shift();
      if (victim === undefined) return false;
      this.options.log.info('model evicted', { model: victim.name, reason: 'memory budget' });
      this.options.observer?.modelUnloaded(victim.name, 'memory budget');
      // Synchronous for the budget: a victim's bytes are back before the next one is picked.
      victim.evict();
    }
    return true;
  }

  private armKeepAlive(m: ModelVersion): void {
    clearTimeout(m.keepAliveTimer);
    if (m.config.keepAliveMs < 0 || m.state !== 'ready') return;
    m.keepAliveTimer = setTimeout(() => {
      if (m.refs === 0 && m.state === 'ready') {
        this.options.log.info('model unloaded', { model: m.name, version: m.version, reason: 'keep_alive expired' });
        this.options.observer?.modelUnloaded(m.name, 'keep_alive');
        void this.release(m);
      }
    }, m.config.keepAliveMs);
    m.keepAliveTimer.unref();
  }

  /**
   * Unloads a model. Its memory returns to the budget at once (synchronously, so concurrent
   * reservations never pick the same victim twice); the runtime's release follows.
   */
  private async release(m: ModelVersion): Promise<void> {
    clearTimeout(m.keepAliveTimer);
    if (m.loading) await m.loading.catch(() => undefined);
    if (m.releasing) return m.releasing;
    const { loaded, scheduler } = m;
    if (loaded === undefined) return;
    m.state = 'unloading';
    m.loaded = undefined;
    m.scheduler = undefined;
    this.used[m.device] -= m.memoryBytes;
    m.memoryBytes = 0;
    m.releasing = (async () => {
      await scheduler?.stop();
      await loaded.dispose();
    })().finally(() => {
      m.releasing = undefined;
      if (m.state === 'unloading') m.state = m.held ? 'unavailable' : 'unloaded';
    });
    return m.releasing;
  }
}

/**
 * Below this, a load's RSS growth is the allocator's own step (measured here: 0 to 256 KiB for
 * models of 150 bytes), not the model: the file's size stays what it counts.
 */
const MEASURE_FLOOR_BYTES = 2 ** 20;

/** Dynamic batching applies when every input and output has a dynamic first dimension. */
function batchable(signature: ModelSignature): boolean {
  return [...signature.inputs, ...signature.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
}
