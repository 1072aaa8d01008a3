// The language models of a node — GGUF files run by llama.cpp and OpenAI-compatible upstreams —
// behind one API that the HTTP frontends and the component sandbox call: `generate` streams
// events, `embed` returns vectors. Adds per-model admission (SlotQueue), loading and stats, and
// the lifecycle the tensor models have: the states of ModelState, memory (weights + KV cache)
// counted in the node's one budget with LRU eviction, keep_alive, explicit load and unload.

import { ErrorCode, WeftError, abortError } from '../errors.js';
import {
  languageModelMemory,
  openLanguageModel,
  type Device,
  type EmbedResult,
  type GenerateEvent,
  type GenerateInput,
  type LanguageModelSpec,
  type LlamaBackend,
  type LlmModel,
  type UpstreamState,
} from '../backends/index.js';
import type { ModelState, Resident } from './model-manager.js';
import type { ModelDefinition } from './repository.js';
import { ModelFile } from './model-file.js';
import { emptyStats, recordGeneration, type GenerationRecord, type LlmModelStats } from './llm-stats.js';
import { SlotQueue } from './slot-queue.js';
import { checkPriority } from './admission.js';
import type { EngineObserver, RequestScope } from '../telemetry/index.js';

export interface LlmCallOptions {
  /** Aborting it (a client that disconnects) stops the generation and frees its slot at once. */
  signal: AbortSignal;
  /** 1 is the highest; undefined takes the model's default level. */
  priority?: number;
  /** Longest wait in the queue, in milliseconds; undefined takes the model's default. */
  timeoutMs?: number;
  /** The request this call serves (a route's or a component's): gets its span, tokens and GenAI timings. */
  scope?: RequestScope;
  /**
   * Ollama's keep_alive: how long the model stays loaded after this call, in milliseconds, and
   * from then on (0 unloads it once idle, -1 keeps it until evicted); undefined keeps the current.
   */
  keepAliveMs?: number;
}

export interface LlmModelInfo {
  name: string;
  /** The version served (the latest GGUF version; 1 for an upstream). */
  version: number;
  kind: 'local' | 'remote';
  state: ModelState;
  /** Why it is unavailable, when it is. */
  reason: string | undefined;
  /** Generations running and waiting. */
  inflight: number;
  queued: number;
  /** Local models: the fraction (0 to 1) of the KV cache that running generations hold (0 when not loaded). */
  kvCacheUsage?: number;
  /** Local models: where they run once loaded. */
  device?: Device;
  /** Local models: weights + KV cache held in the node's budget (an estimate, see LlamaBackend.estimateMemory). */
  memoryBytes?: number;
  /** Remote models: each upstream's health and load. */
  upstreams?: UpstreamState[];
}

export interface LlmServiceOptions {
  backend: LlamaBackend;
  log: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  healthIntervalMs: number;
  retryMs: number;
  /**
   * The node's memory budget (the tensor models' manager): a loaded GGUF is admitted there as
   * a resident, evicted LRU with the ONNX models; MEMORY_BUDGET_EXCEEDED when no room is left.
   */
  budget?: { admitResident(resident: Resident): () => void; tick(): number };
  /** Told when each generation or embedding runs (its device time is charged to its request), and of loads and keep_alive unloads. */
  observer?: Pick<EngineObserver, 'generationStarted' | 'modelLoaded' | 'modelUnloaded'>;
}

class LlmEntry {
  model: LlmModel | undefined;
  state: ModelState = 'unloaded';
  /** Gives the model's memory back to the budget. */
  releaseMemory: (() => void) | undefined;
  memoryBytes = 0;
  loading: Promise<LlmModel> | undefined;
  releasing: Promise<void> | undefined;
  reason: string | undefined;
  queue: SlotQueue | undefined;
  /** Calls admitted and not finished (queued, running, or waiting for the load). */
  refs = 0;
  lastUsed = 0;
  /** Unloaded through the repository API: refused until an explicit load. */
  held = false;
  keepAliveMs: number;
  keepAliveTimer: NodeJS.Timeout | undefined;
  idleWaiters: Array<() => void> = [];
  readonly stats: LlmModelStats = emptyStats();
  /** The GGUF served (the latest version), checked against its deploy-time digest before each load; none for upstreams. */
  readonly file: ModelFile | undefined;
  constructor(readonly definition: ModelDefinition) {
    this.keepAliveMs = definition.config.keepAliveMs;
    const latest = [...definition.versions.keys()].sort((a, b) => a - b).at(-1);
    if (latest !== undefined) this.file = new ModelFile(definition.versions.get(latest)!, definition.digests?.get(latest));
  }
}

export class LlmService {
  private readonly entries = new Map<string, LlmEntry>();

  constructor(
    definitions: readonly ModelDefinition[],
    private readonly options: LlmServiceOptions,
  ) {
    this.add(definitions);
  }

  /** Adds language models at run time (an app deployed); a name already served is refused. */
  add(definitions: readonly ModelDefinition[]): void {
    for (const d of definitions) {
      if (this.entries.has(d.name)) throw new WeftError(ErrorCode.InvalidConfig, `model '${d.name}' is already served by this node`, { field: 'models' });
    }
    for (const d of definitions) this.entries.set(d.name, new LlmEntry(d));
  }

  /** Removes language models (an app removed): queued requests are refused, the models released. */
  async remove(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        const e = this.entries.get(name);
        this.entries.delete(name);
        if (e) await this.release(e);
      }),
    );
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  list(): LlmModelInfo[] {
    return this.names().map((name) => {
      const e = this.entries.get(name)!;
      const model = e.model;
      return {
        name,
        version: Math.max(1, ...e.definition.versions.keys()),
        kind: e.definition.format === 'upstream' ? 'remote' : 'local',
        state: e.state,
        reason: e.reason,
        inflight: e.queue?.inflight ?? 0,
        queued: e.queue?.queued ?? 0,
        ...(e.definition.format !== 'upstream' && { kvCacheUsage: model?.kvCacheUsage?.() ?? 0 }),
        ...(model?.device !== undefined && { device: model.device, memoryBytes: e.memoryBytes }),
        ...(model?.upstreams && { upstreams: model.upstreams() }),
      };
    });
  }

  /** Explicit load (repository API): clears an explicit unload. */
  async load(name: string): Promise<void> {
    const e = this.entry(name);
    e.held = false;
    e.reason = undefined;
    if (e.state === 'unavailable') e.state = 'unloaded';
    await this.ready(e);
    this.armKeepAlive(e);
  }

  /** Explicit unload (repository API): new calls are refused, running ones finish, then the model is released. */
  async unload(name: string): Promise<void> {
    const e = this.entry(name);
    e.held = true;
    e.state = 'unavailable';
    e.reason = 'unloaded';
    if (e.refs > 0) await new Promise<void>((resolve) => e.idleWaiters.push(resolve));
    await this.release(e);
  }

  /** Running totals per model: TTFT, time per output token, tokens in and out. */
  stats(): Record<string, LlmModelStats> {
    return Object.fromEntries(this.names().map((n) => [n, structuredClone(this.entries.get(n)!.stats)]));
  }

  /** Loads eager GGUF models and starts every upstream's health checks. */
  async start(): Promise<void> {
    for (const e of this.entries.values()) {
      if (e.definition.format === 'upstream' || e.definition.config.load === 'eager') await this.ready(e);
    }
  }

  /**
   * Streams one generation. Rejections (unknown model, prompt too long, queue full) are thrown
   * by the first `next()`, before any event; the last event is always `done`.
   */
  async *generate(name: string, input: GenerateInput, options: LlmCallOptions): AsyncGenerator<GenerateEvent> {
    const arrived = performance.now();
    const operation = input.messages === undefined ? 'text_completion' : 'chat';
    // The inference.run span of this call, queue wait included, whoever makes it.
    const span = options.scope?.startSpan('inference.run', { 'gen_ai.request.model': name, 'gen_ai.operation.name': operation });
    let e: LlmEntry;
    let model: LlmModel;
    let release: () => void;
    try {
      e = this.entry(name);
      // A request without max_tokens gets the model's default: none runs until the context is full.
      const { defaultMaxTokens } = e.definition.config;
      if (input.maxTokens === undefined && e.definition.format !== 'upstream' && defaultMaxTokens > 0) input = { ...input, maxTokens: defaultMaxTokens };
    } catch (err) {
      span?.end(err);
      throw err;
    }
    this.begin(e, options);
    try {
      model = await this.ready(e);
      await model.check(input);
      release = await e.queue!.acquire(checkPriority(options.priority, e.definition.config, 'priority'), options.timeoutMs ?? e.definition.config.queueTimeoutMs, options.signal, options.scope?.fairShare);
    } catch (err) {
      this.end(e);
      span?.end(err);
      throw err;
    }
    // Our own controller: stopping the loop early (or the caller's abort) stops the backend.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) controller.abort();
    let firstAt: number | undefined;
    let lastAt = arrived;
    let outcome = 'error';
    let promptTokens = 0;
    let completionTokens = 0;
    const ran = this.options.observer?.generationStarted?.(name, model.device, options.scope);
    let failure: unknown;
    const events = model.generate(input, controller.signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await events.next();
        if (next.done) break;
        const event = next.value;
        if (event.type === 'text') {
          // Until `done` gives the exact count, pieces of text approximate tokens.
          completionTokens++;
          lastAt = performance.now();
          firstAt ??= lastAt;
        } else {
          outcome = event.finishReason;
          promptTokens = event.promptTokens;
          completionTokens = event.completionTokens;
        }
        yield event;
      }
    } catch (err) {
      if (options.signal.aborted) {
        outcome = 'cancelled';
        failure = abortError(options.signal, err);
      } else {
        failure = err instanceof WeftError ? err : new WeftError(ErrorCode.InferenceFailed, `model '${name}' failed: ${(err as Error).message}`, { cause: err });
      }
      throw failure;
    } finally {
      if (outcome === 'error' && options.signal.aborted) outcome = 'cancelled';
      controller.abort();
      options.signal.removeEventListener('abort', onAbort);
      await events.return?.().catch(() => undefined);
      ran?.();
      release();
      this.end(e);
      const record: GenerationRecord = {
        model: name,
        kind: model.kind,
        ttftMs: firstAt === undefined ? undefined : firstAt - arrived,
        tpotMs: firstAt !== undefined && completionTokens > 1 ? (lastAt - firstAt) / (completionTokens - 1) : undefined,
        promptTokens,
        completionTokens,
        outcome,
      };
      recordGeneration(e.stats, record);
      options.scope?.generationDone({ ...record, operation });
      span?.setAttributes({ 'gen_ai.usage.input_tokens': promptTokens, 'gen_ai.usage.output_tokens': completionTokens });
      span?.end(failure);
    }
  }

  async embed(name: string, inputs: string[], options: LlmCallOptions): Promise<EmbedResult> {
    const span = options.scope?.startSpan('inference.run', { 'gen_ai.request.model': name, 'gen_ai.operation.name': 'embeddings' });
    let failure: unknown;
    let e: LlmEntry | undefined;
    try {
      e = this.entry(name);
      this.begin(e, options);
      const model = await this.ready(e);
      const release = await e.queue!.acquire(checkPriority(options.priority, e.definition.config, 'priority'), options.timeoutMs ?? e.definition.config.queueTimeoutMs, options.signal, options.scope?.fairShare);
      const ran = this.options.observer?.generationStarted?.(name, model.device, options.scope);
      try {
        const result = await model.embed(inputs, options.signal);
        e.stats.embeddings++;
        e.stats.promptTokens += result.promptTokens;
        options.scope?.recordTokens(result.promptTokens, 0);
        return result;
      } finally {
        ran?.();
        release();
      }
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      if (e) this.end(e);
      span?.end(failure);
    }
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.release(e)));
  }

  /** A call starts: counted (never evicted while in flight), its keep_alive taken. */
  private begin(e: LlmEntry, options: LlmCallOptions): void {
    if (e.held) {
      throw new WeftError(ErrorCode.ModelUnavailable, `model '${e.definition.name}' is unavailable: it was unloaded; POST /v2/repository/models/${e.definition.name}/load to load it`);
    }
    if (options.keepAliveMs !== undefined) e.keepAliveMs = options.keepAliveMs;
    e.refs++;
    e.lastUsed = this.options.budget?.tick() ?? 0;
    clearTimeout(e.keepAliveTimer);
  }

  private end(e: LlmEntry): void {
    e.refs--;
    e.lastUsed = this.options.budget?.tick() ?? 0;
    if (e.refs > 0) return;
    for (const wake of e.idleWaiters.splice(0)) wake();
    this.armKeepAlive(e);
  }

  /** Ollama's habit: an idle local model unloads after its keep_alive (0: at once). Upstreams hold nothing here. */
  private armKeepAlive(e: LlmEntry): void {
    clearTimeout(e.keepAliveTimer);
    if (e.definition.format === 'upstream' || e.keepAliveMs < 0 || e.state !== 'ready' || e.refs > 0) return;
    const expire = () => {
      if (e.refs > 0 || e.state !== 'ready') return;
      this.options.log.info('model unloaded', { model: e.definition.name, reason: 'keep_alive expired' });
      this.options.observer?.modelUnloaded?.(e.definition.name, 'keep_alive');
      void this.release(e);
    };
    if (e.keepAliveMs === 0) return expire();
    e.keepAliveTimer = setTimeout(expire, e.keepAliveMs);
    e.keepAliveTimer.unref();
  }

  /**
   * Unloads a model. Its memory returns to the budget at once (synchronously, so the budget can
   * count on it while evicting); the runtime's release follows.
   */
  private async release(e: LlmEntry): Promise<void> {
    clearTimeout(e.keepAliveTimer);
    if (e.loading) await e.loading.catch(() => undefined);
    if (e.releasing) return e.releasing;
    const model = e.model;
    e.releaseMemory?.();
    e.releaseMemory = undefined;
    e.memoryBytes = 0;
    if (model === undefined) return;
    e.queue?.stop();
    e.model = undefined;
    e.state = 'unloading';
    e.releasing = model
      .dispose()
      .catch((err: unknown) => this.options.log.warn('model release failed', { model: e.definition.name, error: (err as Error).message }))
      .finally(() => {
        e.releasing = undefined;
        if (e.state === 'unloading') e.state = e.held ? 'unavailable' : 'unloaded';
      });
    return e.releasing;
  }

  private entry(name: string): LlmEntry {
    const e = this.entries.get(name);
    if (e === undefined) {
      throw new WeftError(ErrorCode.ModelNotFound, `model '${name}' is not served here (language models: ${this.names().join(', ') || 'none'})`, {
        field: 'model',
      });
    }
    return e;
  }

  private async ready(e: LlmEntry): Promise<LlmModel> {
    // An eviction or keep-alive unload may be under way: load again once it is done.
    while (e.releasing) await e.releasing;
    if (e.model) return e.model;
    e.loading ??= this.open(e).finally(() => {
      e.loading = undefined;
    });
    return e.loading;
  }

  private spec(e: LlmEntry): LanguageModelSpec {
    const { name, config } = e.definition;
    if (e.definition.format === 'upstream') {
      return { format: 'upstream', name, urls: config.upstream ?? [], upstreamModel: config.upstreamModel ?? name, healthIntervalMs: this.options.healthIntervalMs, retryMs: this.options.retryMs };
    }
    return { format: 'gguf', name, path: e.file!.path, device: config.device, contextSize: config.contextSize, parallel: config.parallel, threads: config.threads };
  }

  private async open(e: LlmEntry): Promise<LlmModel> {
    const { name, config } = e.definition;
    const started = performance.now();
    const spec = this.spec(e);
    const deps = { llama: this.options.backend, log: this.options.log };
    let model: LlmModel;
    e.state = 'loading';
    try {
      await e.file?.verify(name);
      const bytes = spec.format === 'gguf' ? (config.memory ?? (await languageModelMemory(spec, deps))) : 0;
      if (spec.format === 'gguf' && this.options.budget) {
        const resident: Resident = {
          name,
          device: spec.device,
          bytes,
          busy: () => e.refs > 0 || e.loading !== undefined,
          lastUsed: () => e.lastUsed,
          evict: () => void this.release(e),
        };
        e.releaseMemory = this.options.budget.admitResident(resident);
      }
      e.memoryBytes = bytes;
      model = await openLanguageModel(spec, deps);
    } catch (err) {
      e.releaseMemory?.();
      e.releaseMemory = undefined;
      e.memoryBytes = 0;
      if (err instanceof WeftError && err.code === ErrorCode.MemoryBudgetExceeded) {
        e.state = 'unloaded';
        throw err;
      }
      e.state = 'unavailable';
      e.reason = `load failed: ${(err as Error).message}`;
      throw new WeftError(ErrorCode.ModelLoadFailed, `model '${name}' failed to load: ${(err as Error).message}`, { cause: err });
    }
    e.reason = undefined;
    e.queue = new SlotQueue({ model: name, slots: model.concurrency, maxQueueSize: config.maxQueueSize, priorityLevels: config.priorityLevels });
    e.model = model;
    e.state = e.held ? 'unavailable' : 'ready';
    const ms = performance.now() - started;
    this.options.log.info('model loaded', { model: name, kind: model.kind, memoryBytes: e.memoryBytes, ms: Math.round(ms) });
    if (model.device !== undefined) this.options.observer?.modelLoaded?.(name, model.device, ms);
    return model;
  }
}
