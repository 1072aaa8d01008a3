// The OpenAI API's request bodies as Weft accepts them (chat completions, completions,
// embeddings), validated with their field paths, and their conversion to engine requests.
// Leaf module: depends on the engine's types only.

import { z } from 'zod';
import { parseDuration } from '../../config/index.js';
import { ErrorCode, WeftError, firstIssue } from '../../errors.js';
import type { ChatMessage, GenerateInput } from '../../backends/index.js';

/**
 * Ollama's keep_alive: seconds as a number, or a duration ("5m", "30s", "0"); negative keeps the
 * model loaded until evicted, 0 unloads it after the request. Parsed to milliseconds.
 */
const keepAlive = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  const ms = typeof raw === 'number' ? (raw < 0 ? -1 : raw * 1000) : parseDuration(raw.trim().startsWith('-') ? '-1' : raw);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'keep_alive must be seconds or a duration such as "5m" (negative: until evicted)' });
    return z.NEVER;
  }
  return ms;
});

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const message = z.object({
  /** 'developer' is OpenAI's newer name for 'system'. */
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  /** Text, or text parts (other part types, such as images, are not supported). */
  content: z.union([z.string(), z.array(textPart)]).nullable(),
});

const sampling = {
  /** Most tokens to generate. */
  max_tokens: z.number().int().positive().nullish(),
  /** 0 to 2; 0 is greedy. */
  temperature: z.number().min(0).max(2).nullish(),
  /** Nucleus sampling, 0 to 1. */
  top_p: z.number().min(0).max(1).nullish(),
  /** Sample from the k most likely tokens (not in OpenAI's API; vLLM and llama.cpp accept it). */
  top_k: z.number().int().nonnegative().nullish(),
  /** The same seed and request give the same output. */
  seed: z.number().int().nullish(),
  /** Up to 4 strings before which generation stops. */
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  /** Only one choice per request. */
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  /** include_usage: a last chunk carries the token counts. */
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  /** Weft's extension: queue priority, 1 is the highest. */
  priority: z.number().int().positive().optional(),
  /** Ollama's extension: how long the model stays loaded after this request. */
  keep_alive: keepAlive.optional(),
  user: z.string().optional(),
};

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish() }),
  }),
]);

export const chatRequest = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  /** OpenAI's newer name for max_tokens. */
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(z.unknown()).max(0, 'tools are not supported').nullish(),
  ...sampling,
});
export type ChatRequest = z.infer<typeof chatRequest>;

export const completionRequest = z.object({
  model: z.string().min(1),
  /** One prompt (a one-element array is accepted too). */
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.literal(false).nullish(),
  ...sampling,
});
export type CompletionRequest = z.infer<typeof completionRequest>;

export const embeddingRequest = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  /** The official client asks for base64 by default. */
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.undefined({ error: 'dimensions is not supported' }).optional(),
  /** Ollama's extension: how long the model stays loaded after this request. */
  keep_alive: keepAlive.optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof embeddingRequest>;

/** Parses a body, turning the first problem into a 400 that names the parameter at fault. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WeftError(ErrorCode.BadRequest, 'the request body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const { field, message } = firstIssue(parsed.error);
  throw new WeftError(ErrorCode.BadRequest, `${field ? `'${field}': ` : ''}${message}`, { field: field || undefined });
}

function textOf(content: z.infer<typeof message>['content']): string {
  if (content === null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

function samplingOf(r: ChatRequest | CompletionRequest, maxTokens: number | null | undefined): GenerateInput {
  const out: GenerateInput = {};
  if (maxTokens != null) out.maxTokens = maxTokens;
  if (r.temperature != null) out.temperature = r.temperature;
  if (r.top_p != null) out.topP = r.top_p;
  if (r.top_k != null) out.topK = r.top_k;
  if (r.seed != null) out.seed = r.seed;
  if (r.stop != null) out.stop = typeof r.stop === 'string' ? [r.stop] : r.stop;
  if (r.presence_penalty != null) out.presencePenalty = r.presence_penalty;
  if (r.frequency_penalty != null) out.frequencyPenalty = r.frequency_penalty;
  return out;
}

export function chatInput(r: ChatRequest): GenerateInput {
  const messages: ChatMessage[] = r.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) }));
  const input: GenerateInput = { messages, ...samplingOf(r, r.max_completion_tokens ?? r.max_tokens) };
  const format = r.response_format;
  if (format?.type === 'json_object') input.jsonSchema = true;
  if (format?.type === 'json_schema') input.jsonSchema = format.json_schema.schema;
  return input;
}

export function completionInput(r: CompletionRequest): GenerateInput {
  return { prompt: typeof r.prompt === 'string' ? r.prompt : r.prompt[0]!, ...samplingOf(r, r.max_tokens ?? 16) };
}
