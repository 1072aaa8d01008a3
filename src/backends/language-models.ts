// The factory for language models by format: a GGUF file opens on llama.cpp, an upstream opens a
// health-checked pool of OpenAI-compatible servers. The engine names a format and gets an
// LlmModel; it never constructs or tests a concrete backend class.

import type { Device } from './types.js';
import type { LlmModel } from './llm-types.js';
import type { LlamaBackend } from './llama/index.js';
import { RemoteModel } from './remote/index.js';

export type LanguageModelSpec =
  | { format: 'gguf'; name: string; path: string; device: Device; contextSize: number; parallel: number; threads: number }
  | { format: 'upstream'; name: string; urls: string[]; upstreamModel: string; healthIntervalMs: number; retryMs: number };

export interface LanguageModelDeps {
  llama: LlamaBackend;
  log: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
}

/** Bytes the model will hold on this node's device once open (0 for an upstream: its memory is elsewhere). */
export async function languageModelMemory(spec: LanguageModelSpec, deps: LanguageModelDeps): Promise<number> {
  return spec.format === 'gguf' ? deps.llama.estimateMemory(spec.path, spec) : 0;
}

export async function openLanguageModel(spec: LanguageModelSpec, deps: LanguageModelDeps): Promise<LlmModel> {
  if (spec.format === 'gguf') {
    return deps.llama.load(spec.path, { device: spec.device, contextSize: spec.contextSize, parallel: spec.parallel, threads: spec.threads });
  }
  return new RemoteModel({ model: spec.name, urls: spec.urls, upstreamModel: spec.upstreamModel, healthIntervalMs: spec.healthIntervalMs, retryMs: spec.retryMs, log: deps.log });
}
