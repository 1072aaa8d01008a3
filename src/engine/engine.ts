// The engine's surface for its callers — the api's routes, the sandbox's host imports, the
// dashboard and, next, the fleet: what they may ask of the models of a node. They depend on
// these types, never on the classes that implement them (ModelManager, LlmService).

import type { Device, EmbedResult, GenerateEvent, GenerateInput, ModelSignature } from '../backends/index.js';
import type { InferRequest, InferResult, ModelVersionStatus } from './model-manager.js';
import type { LlmCallOptions, LlmModelInfo } from './llm-service.js';
import type { LlmModelStats } from './llm-stats.js';
import type { ModelDefinition } from './repository.js';

/** The repository side every model kind shares: explicit load and unload (the KServe repository extension). */
export interface ModelLifecycle {
  names(): string[];
  /** Loads the model; clears an explicit unload. */
  load(name: string): Promise<void>;
  /** Refuses new calls, lets running ones finish, then releases the model until an explicit load. */
  unload(name: string): Promise<void>;
}

/** Tensor models (ONNX): validated, queued, batched inference. */
export interface TensorModels extends ModelLifecycle {
  readonly platform: string;
  versions(name: string): number[];
  status(): ModelVersionStatus[];
  /** Per device: bytes held by loaded models of every kind against the budget. */
  memory(): Array<{ device: Device; usedBytes: number; budgetBytes: number }>;
  isReady(name: string, version?: number): boolean;
  /** Whether a call would run now, and why not (never fits the budget, explicitly unloaded...). */
  readiness(name: string, version?: number): { ready: boolean; reason: string | undefined };
  signature(name: string, version?: number): Promise<{ version: number; signature: ModelSignature; maxBatchSize: number }>;
  /** Runs one call, whoever makes it: validated against the model's signature first. */
  infer(name: string, version: number | undefined, request: InferRequest): Promise<InferResult>;
}

/** Language models (GGUF, upstreams): queued generations and embeddings. */
export interface LanguageModels extends ModelLifecycle {
  has(name: string): boolean;
  list(): LlmModelInfo[];
  stats(): Record<string, LlmModelStats>;
  /** Streams one generation; rejections come from the first `next()`, the last event is `done`. */
  generate(name: string, input: GenerateInput, options: LlmCallOptions): AsyncGenerator<GenerateEvent>;
  embed(name: string, inputs: string[], options: LlmCallOptions): Promise<EmbedResult>;
}

/** The services a node's models are split between; add and remove are the app deployer's. */
export interface ModelServices {
  tensors: Pick<TensorModels, 'names'> & { add(definitions: readonly ModelDefinition[]): void; remove(names: readonly string[]): Promise<void> };
  language: Pick<LanguageModels, 'has'> & { add(definitions: readonly ModelDefinition[]): void; remove(names: readonly string[]): Promise<void> };
}

/** The one rule that sorts models by kind: ONNX files are tensor models, GGUF files and upstreams language models. */
export function isTensorModel(d: Pick<ModelDefinition, 'format'>): boolean {
  return d.format === 'onnx';
}

/** Whether either service serves `name` (names are unique across both). */
export function servesModel(s: ModelServices, name: string): boolean {
  return s.tensors.names().includes(name) || s.language.has(name);
}

/** Adds models at run time, each to the service of its kind. */
export function addModels(s: ModelServices, definitions: readonly ModelDefinition[]): void {
  s.tensors.add(definitions.filter(isTensorModel));
  s.language.add(definitions.filter((d) => !isTensorModel(d)));
}

/** Removes models at run time from whichever service holds each. */
export async function removeModels(s: ModelServices, names: readonly string[]): Promise<void> {
  await Promise.all([s.tensors.remove(names.filter((n) => s.tensors.names().includes(n))), s.language.remove(names.filter((n) => s.language.has(n)))]);
}
