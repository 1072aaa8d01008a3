// The one service behind the engine's interface: every model of a node, whatever its kind, in one
// catalog with one memory budget per device. It sorts definitions by kind (the only place that
// does), hands each call to the kind's runner — ModelManager runs tensor models and owns the
// budget, LlmService runs language models as residents of that budget — and answers the
// repository side (names, states, readiness, load and unload) for all of them at once.

import type { Backend, Device, EmbedResult, GenerateEvent, GenerateInput, LlamaBackend, ModelSignature } from '../backends/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import type { EngineObserver } from '../telemetry/index.js';
import { isTensorModel, type Engine, type EngineCatalog, type ModelStatus } from './engine.js';
import { LlmService, type LlmCallOptions, type LlmModelInfo } from './llm-service.js';
import type { LlmModelStats } from './llm-stats.js';
import { ModelManager, type InferRequest, type InferResult } from './model-manager.js';
import type { ModelDefinition } from './repository.js';

export interface ModelServiceOptions {
  /** Runs tensor models (ONNX Runtime). */
  tensorBackend: Backend;
  /** Runs GGUF models (llama.cpp); upstreams need none. */
  llamaBackend: LlamaBackend;
  /** Bytes per device that loaded models of every kind may take. */
  memoryBudget: Record<Device, number>;
  log: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  /** Upstreams: how often their health is checked, and how soon a failed one is tried again. */
  healthIntervalMs: number;
  retryMs: number;
  /** Told about batches, generations, loads and evictions (metrics, spans, energy). */
  observer?: EngineObserver;
}

export class ModelService implements Engine, EngineCatalog {
  private readonly tensors: ModelManager;
  private readonly language: LlmService;

  constructor(definitions: readonly ModelDefinition[], options: ModelServiceOptions) {
    const { log, observer } = options;
    this.tensors = new ModelManager(definitions.filter(isTensorModel), { backend: options.tensorBackend, memoryBudget: options.memoryBudget, log, observer });
    this.language = new LlmService(definitions.filter((d) => !isTensorModel(d)), {
      backend: options.llamaBackend,
      log,
      healthIntervalMs: options.healthIntervalMs,
      retryMs: options.retryMs,
      // One budget per device for every model: GGUF weights and KV cache count against it too.
      budget: this.tensors,
      observer,
    });
  }

  get platform(): string {
    return this.tensors.platform;
  }

  names(): string[] {
    return [...this.tensors.names(), ...this.language.names()].sort();
  }

  has(name: string): boolean {
    return this.language.has(name) || this.tensors.has(name);
  }

  /** Adds models at run time (an app deployed), each to the runner of its kind; a name already served is refused. */
  add(definitions: readonly ModelDefinition[]): void {
    // Names are unique across kinds; checked first, so that a refused call adds nothing.
    const taken = definitions.find((d) => this.has(d.name));
    if (taken !== undefined) throw new WeftError(ErrorCode.InvalidConfig, `model '${taken.name}' is already served by this node`, { field: 'models' });
    this.tensors.add(definitions.filter(isTensorModel));
    this.language.add(definitions.filter((d) => !isTensorModel(d)));
  }

  /** Removes models (an app removed): running calls finish, then the models are released. */
  async remove(names: readonly string[]): Promise<void> {
    await Promise.all([this.tensors.remove(names.filter((n) => !this.language.has(n))), this.language.remove(names.filter((n) => this.language.has(n)))]);
  }

  status(): ModelStatus[] {
    const tensor = this.tensors.status().map((s): ModelStatus => ({ ...s, kind: 'tensor' }));
    const language = this.language.list().map(
      (m): ModelStatus => ({ name: m.name, version: m.version, kind: 'language', state: m.state, reason: m.reason, device: m.device, memoryBytes: m.memoryBytes ?? 0, measuredBytes: undefined, inflight: m.inflight, queued: m.queued }),
    );
    return [...tensor, ...language].sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  }

  memory(): Array<{ device: Device; usedBytes: number; budgetBytes: number }> {
    return this.tensors.memory();
  }

  readiness(name: string, version?: number): { ready: boolean; reason: string | undefined } {
    if (!this.language.has(name)) return this.tensors.readiness(name, version);
    const m = this.language.list().find((l) => l.name === name)!;
    return { ready: m.state === 'ready' || m.state === 'unloaded' || m.state === 'loading', reason: m.reason };
  }

  load(name: string): Promise<void> {
    return this.language.has(name) ? this.language.load(name) : this.tensors.load(name);
  }

  unload(name: string): Promise<void> {
    return this.language.has(name) ? this.language.unload(name) : this.tensors.unload(name);
  }

  versions(name: string): number[] {
    this.refuseKind(name, 'language');
    return this.tensors.versions(name);
  }

  async signature(name: string, version?: number): Promise<{ version: number; signature: ModelSignature; maxBatchSize: number }> {
    this.refuseKind(name, 'language');
    return this.tensors.signature(name, version);
  }

  async infer(name: string, version: number | undefined, request: InferRequest): Promise<InferResult> {
    this.refuseKind(name, 'language');
    return this.tensors.infer(name, version, request);
  }

  languageModels(): LlmModelInfo[] {
    return this.language.list();
  }

  generationStats(): Record<string, LlmModelStats> {
    return this.language.stats();
  }

  generate(name: string, input: GenerateInput, options: LlmCallOptions): AsyncGenerator<GenerateEvent> {
    try {
      this.refuseKind(name, 'tensor');
    } catch (err) {
      // As every refusal of a generation: from the first next(), before any event.
      // eslint-disable-next-line require-yield -- a generator that only refuses
      return (async function* refused(): AsyncGenerator<GenerateEvent> {
        throw err;
      })();
    }
    // The runner's own generator, not one wrapped around it: no extra hop per token.
    return this.language.generate(name, input, options);
  }

  async embed(name: string, inputs: string[], options: LlmCallOptions): Promise<EmbedResult> {
    this.refuseKind(name, 'tensor');
    return this.language.embed(name, inputs, options);
  }

  /** Loads the models configured eager, and starts every upstream's health checks. */
  async start(): Promise<void> {
    await this.tensors.loadEager();
    await this.language.start();
  }

  /** A call of one kind for a model of the other says which API the model answers instead. */
  private refuseKind(name: string, kind: 'tensor' | 'language'): void {
    const isLanguage = this.language.has(name);
    if (kind === 'language' && isLanguage) {
      throw new WeftError(ErrorCode.ModelNotFound, `model '${name}' is a language model: it answers the OpenAI API (/v1/chat/completions, /v1/completions, /v1/embeddings), not tensor inference`, { field: 'model_name' });
    }
    if (kind === 'tensor' && !isLanguage && this.tensors.has(name)) {
      throw new WeftError(ErrorCode.ModelNotFound, `model '${name}' is a tensor model: it answers KServe v2 inference (POST /v2/models/${name}/infer), not generation`, { field: 'model' });
    }
  }

  /** Refuses what is queued and releases every model. */
  async shutdown(): Promise<void> {
    await Promise.all([this.tensors.shutdown(), this.language.shutdown()]);
  }
}
