// The language models of a node — GGUF files run by llama.cpp and OpenAI-compatible upstreams —
// behind one API that the HTTP frontends and the component sandbox call: `generate` streams
// events, `embed` returns vectors. Adds per-model admission (SlotQueue), loading and stats.

import { statSync } from 'node:fs';
import { ErrorCode, WeftError } from '../errors.js';
import { LlamaLocalModel, RemoteModel, type EmbedResult, type GenerateEvent, type GenerateInput, type LlamaBackend, type LlmModel, type UpstreamState } from '../backends/index.js';
import type { ModelDefinition } from './repository.js';
import { emptyStats, recordGeneration, type GenerationRecord, type LlmModelStats } from './llm-stats.js';
import { SlotQueue } from './slot-queue.js';
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
}

export interface LlmModelInfo {
  name: string;
  kind: 'local' | 'remote';
  state: 'unloaded' | 'loading' | 'ready' | 'unavailable';
  /** Why it is unavailable, when it is. */
  reason: string | undefined;
  /** Generations running and waiting. */
  inflight: number;
  queued: number;
  /** Local models: the fraction (0 to 1) of the KV cache that running generations hold (0 when not loaded). */
  kvCacheUsage?: number;
  /** Local models: where they run once loaded. */
  device?: 'cpu' | 'cuda';
  /** Remote models: each upstream's health and load. */
  upstreams?: UpstreamState[];
}

export interface LlmServiceOptions {
  backend: LlamaBackend;
  log: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  healthIntervalMs: number;
  retryMs: number;
  /**
   * Counts a local model's memory against the node's budget (the tensor models' manager);
   * throws MEMORY_BUDGET_EXCEEDED when it cannot make room. Returns the release function.
   */
  reserveMemory?: (name: string, device: 'cpu' | 'cuda', bytes: number) => () => void;
  /** Told when each generation or embedding runs, so its device time is charged to its request. */
  observer?: Required<Pick<EngineObserver, 'generationStarted'>>;
}

class LlmEntry {
  model: LlmModel | undefined;
  /** Gives the model's memory back to the budget. */
  releaseMemory: (() => void) | undefined;
  loading: Promise<LlmModel> | undefined;
  reason: string | undefined;
  queue: SlotQueue | undefined;
  readonly stats: LlmModelStats = emptyStats();
  constructor(readonly definition: ModelDefinition) {}
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
      const remote = e.model instanceof RemoteModel ? e.model : undefined;
      return {
        name,
        kind: e.definition.format === 'upstream' ? 'remote' : 'local',
        state: e.model ? 'ready' : e.loading ? 'loading' : e.reason ? 'unavailable' : 'unloaded',
        reason: e.reason,
        inflight: e.queue?.inflight ?? 0,
        queued: e.queue?.queued ?? 0,
        ...(e.definition.format !== 'upstream' && { kvCacheUsage: e.model instanceof LlamaLocalModel ? e.model.kvCacheUsage() : 0 }),
        ...(e.model instanceof LlamaLocalModel && { device: e.model.device }),
        ...(remote && { upstreams: remote.upstreams() }),
      };
    });
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
      model = await this.ready(e);
      await model.check(input);
      release = await e.queue!.acquire(this.priority(e, options.priority), options.timeoutMs ?? e.definition.config.queueTimeoutMs, options.signal);
    } catch (err) {
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
    const ran = this.options.observer?.generationStarted(name, model instanceof LlamaLocalModel ? model.device : undefined, options.scope);
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
        failure = new WeftError(ErrorCode.Cancelled, 'the client cancelled the request', { cause: err });
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
    try {
      const e = this.entry(name);
      const model = await this.ready(e);
      const release = await e.queue!.acquire(this.priority(e, options.priority), options.timeoutMs ?? e.definition.config.queueTimeoutMs, options.signal);
      const ran = this.options.observer?.generationStarted(name, model instanceof LlamaLocalModel ? model.device : undefined, options.scope);
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
      span?.end(failure);
    }
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.release(e)));
  }

  private async release(e: LlmEntry): Promise<void> {
    e.queue?.stop();
    const model = e.model ?? (await e.loading?.catch(() => undefined));
    e.model = undefined;
    await model?.dispose();
    e.releaseMemory?.();
    e.releaseMemory = undefined;
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

  private priority(e: LlmEntry, requested: number | undefined): number {
    const { priorityLevels, defaultPriorityLevel } = e.definition.config;
    const priority = requested ?? defaultPriorityLevel;
    if (!Number.isInteger(priority) || priority < 1 || priority > priorityLevels) {
      throw new WeftError(ErrorCode.BadRequest, `priority must be an integer from 1 (highest) to ${priorityLevels}`, { field: 'priority' });
    }
    return priority;
  }

  private async ready(e: LlmEntry): Promise<LlmModel> {
    if (e.model) return e.model;
    e.loading ??= this.load(e).finally(() => {
      e.loading = undefined;
    });
    return e.loading;
  }

  private async load(e: LlmEntry): Promise<LlmModel> {
    const { name, config } = e.definition;
    const started = performance.now();
    let model: LlmModel;
    try {
      if (e.definition.format === 'upstream') {
        model = new RemoteModel({
          model: name,
          urls: config.upstream ?? [],
          upstreamModel: config.upstreamModel ?? name,
          healthIntervalMs: this.options.healthIntervalMs,
          retryMs: this.options.retryMs,
          log: this.options.log,
        });
      } else {
        const path = [...e.definition.versions].sort((a, b) => a[0] - b[0]).at(-1)![1];
        // Weights take about the file's size; the KV cache comes on top (see docs/llm.md).
        const bytes = config.memory ?? statSync(path).size;
        e.releaseMemory = this.options.reserveMemory?.(name, config.device, bytes);
        model = await this.options.backend.load(path, {
          device: config.device,
          contextSize: config.contextSize,
          parallel: config.parallel,
          threads: config.threads,
        });
      }
    } catch (err) {
      e.releaseMemory?.();
      e.releaseMemory = undefined;
      if (err instanceof WeftError && err.code === ErrorCode.MemoryBudgetExceeded) throw err;
      e.reason = `load failed: ${(err as Error).message}`;
      throw new WeftError(ErrorCode.ModelLoadFailed, `model '${name}' failed to load: ${(err as Error).message}`, { cause: err });
    }
    e.reason = undefined;
    e.queue = new SlotQueue({ model: name, slots: model.concurrency, maxQueueSize: config.maxQueueSize, priorityLevels: config.priorityLevels });
    e.model = model;
    this.options.log.info('model loaded', { model: name, kind: model.kind, ms: Math.round(performance.now() - started) });
    return model;
  }
}
