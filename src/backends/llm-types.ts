// The contract between the engine and the language-model backends (llama for local GGUF files,
// remote for OpenAI-compatible upstreams): a generation request, the events it streams, and
// embeddings. Leaf module: the engine adds queues and stats on top; the api adds wire formats.

import type { Device } from './types.js';
import type { UpstreamState } from './remote/upstream-pool.js';

export const ChatRoles = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof ChatRoles)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface SamplingOptions {
  /** Most tokens to generate; the context's free room when unset. */
  maxTokens?: number;
  /** 0 picks the most likely token (greedy). */
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Fixed seed: the same request gives the same output. */
  seed?: number;
  /** Generation stops before any of these strings; they are not part of the output. */
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Constrains the output to JSON matching this JSON schema; `true` allows any JSON object. */
  jsonSchema?: Record<string, unknown> | true;
}

/** Exactly one of `messages` (chat, through the model's chat template) or `prompt` (raw text). */
export interface GenerateInput extends SamplingOptions {
  messages?: ChatMessage[];
  prompt?: string;
}

export const FinishReasons = ['stop', 'length'] as const;
export type FinishReason = (typeof FinishReasons)[number];

export type GenerateEvent =
  /** A piece of the output, in order. */
  | { type: 'text'; text: string }
  /** The last event: why generation ended and the token counts. */
  | { type: 'done'; finishReason: FinishReason; promptTokens: number; completionTokens: number };

export interface EmbedResult {
  vectors: number[][];
  promptTokens: number;
}

/** A language model ready to serve: a loaded GGUF or a pool of upstream servers. */
export interface LlmModel {
  readonly kind: 'local' | 'remote';
  /** Generations it runs at once (the engine queues the rest); Infinity when it queues itself. */
  readonly concurrency: number;
  /** Local models: where it runs. */
  readonly device?: Device;
  /** Remote models: each upstream's health and load. */
  upstreams?(): UpstreamState[];
  /** Local models: the fraction (0 to 1) of the KV cache that running generations hold. */
  kvCacheUsage?(): number;
  /** Rejects a request that can never run (prompt too long, bad schema) before it is queued. */
  check(input: GenerateInput): Promise<void>;
  /**
   * Streams one generation. Errors that reject the request (prompt too long, bad schema) are
   * thrown by the first `next()`, before any text. Aborting `signal` ends it at once.
   */
  generate(input: GenerateInput, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed(inputs: string[], signal: AbortSignal): Promise<EmbedResult>;
  dispose(): Promise<void>;
}

/** Joins two text events (a slow reader gets one event for the text that piled up). */
export function joinText(a: GenerateEvent, b: GenerateEvent): GenerateEvent | undefined {
  return a.type === 'text' && b.type === 'text' ? { type: 'text', text: a.text + b.text } : undefined;
}
