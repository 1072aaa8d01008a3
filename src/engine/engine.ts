// The engine's surface for its callers — the api's routes, the sandbox's host imports, the
// dashboard, the app deployer and, through node.ts, the fleet: one interface over every model
// kind (`Engine`), implemented by one service (`ModelService`, model-service.ts). Inside, each
// kind has its runner (ModelManager for tensor models, LlmService for language models) behind
// the one budget, lifecycle vocabulary and admission queue; callers never see them.

import type { Device, EmbedResult, GenerateEvent, GenerateInput, ModelSignature } from '../backends/index.js';
import type { InferRequest, InferResult, ModelVersionStatus } from './model-manager.js';
import type { LlmCallOptions, LlmModelInfo } from './llm-service.js';
import type { LlmModelStats } from './llm-stats.js';
import type { ModelDefinition } from './repository.js';

/**
 * One model version of any kind, as the engine reports it: the repository index, gauges, the
 * dashboard, the fleet's inventory. A language model's `memoryBytes` is its weights + KV cache;
 * it has no `measuredBytes`, and no `device` while unloaded or when it is an upstream.
 */
export type ModelStatus = ModelVersionStatus & { kind: 'tensor' | 'language' };

/** Everything a caller may ask of the models of a node, whatever their kind. */
export interface Engine {
  /** KServe's platform name of the tensor models (model metadata). */
  readonly platform: string;
  /** Every model served, of every kind (names are unique across kinds). */
  names(): string[];
  has(name: string): boolean;
  status(): ModelStatus[];
  /** Per device: bytes held by loaded models of every kind against the budget. */
  memory(): Array<{ device: Device; usedBytes: number; budgetBytes: number }>;
  /** Whether a call would run now (loaded, or loadable on demand), and why not. */
  readiness(name: string, version?: number): { ready: boolean; reason: string | undefined };
  /** Explicit load (repository API), any kind; clears an explicit unload. */
  load(name: string): Promise<void>;
  /** Explicit unload (repository API), any kind: refused until an explicit load. */
  unload(name: string): Promise<void>;

  /** Tensor models: versions, ascending. */
  versions(name: string): number[];
  signature(name: string, version?: number): Promise<{ version: number; signature: ModelSignature; maxBatchSize: number }>;
  /** Runs one tensor call, whoever makes it: validated against the model's signature first. */
  infer(name: string, version: number | undefined, request: InferRequest): Promise<InferResult>;

  /** Language models with their load, KV cache and upstreams. */
  languageModels(): LlmModelInfo[];
  /** Running generation totals per language model: TTFT, time per output token, tokens. */
  generationStats(): Record<string, LlmModelStats>;
  /** Streams one generation; rejections come from the first `next()`, the last event is `done`. */
  generate(name: string, input: GenerateInput, options: LlmCallOptions): AsyncGenerator<GenerateEvent>;
  embed(name: string, inputs: string[], options: LlmCallOptions): Promise<EmbedResult>;
}

/** The models an app brings, added and removed at run time (the apps module's part of the engine). */
export interface EngineCatalog {
  has(name: string): boolean;
  add(definitions: readonly ModelDefinition[]): void;
  remove(names: readonly string[]): Promise<void>;
}

/** The one rule that sorts models by kind: ONNX files are tensor models, GGUF files and upstreams language models. */
export function isTensorModel(d: Pick<ModelDefinition, 'format'>): boolean {
  return d.format === 'onnx';
}
