// A language model served by OpenAI-compatible upstream servers (vLLM, Ollama, llama.cpp's
// server, another Weft node, a hosted API): requests go out as streaming OpenAI calls, and their
// server-sent events come back as the same GenerateEvents a local model yields.

import { ErrorCode, WeftError, abortError } from '../../errors.js';
import { eventStream } from '../event-stream.js';
import { joinText, type EmbedResult, type FinishReason, type GenerateEvent, type GenerateInput, type LlmModel } from '../llm-types.js';
import { UpstreamPool, type UpstreamPoolOptions, type UpstreamState } from './upstream-pool.js';

export interface RemoteModelOptions extends UpstreamPoolOptions {
  /** The model's name on the upstream servers. */
  upstreamModel: string;
}

interface StreamChunk {
  choices?: Array<{ delta?: { content?: string | null }; text?: string; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

export class RemoteModel implements LlmModel {
  readonly kind = 'remote';
  /** Upstreams queue for themselves; the pool spreads the load. */
  readonly concurrency = Number.POSITIVE_INFINITY;
  private readonly pool: UpstreamPool;

  constructor(private readonly options: RemoteModelOptions) {
    this.pool = new UpstreamPool(options);
  }

  upstreams(): UpstreamState[] {
    return this.pool.states();
  }

  async check(): Promise<void> {
    // The upstream judges the request; its 4xx comes back before any text.
  }

  generate(input: GenerateInput, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    return eventStream<GenerateEvent>(async (push) => {
      const chat = input.messages !== undefined;
      const body = {
        model: this.options.upstreamModel,
        ...(chat ? { messages: input.messages } : { prompt: input.prompt ?? '' }),
        stream: true,
        stream_options: { include_usage: true },
        ...(input.maxTokens !== undefined && { max_tokens: input.maxTokens }),
        ...(input.temperature !== undefined && { temperature: input.temperature }),
        ...(input.topP !== undefined && { top_p: input.topP }),
        ...(input.topK !== undefined && { top_k: input.topK }),
        ...(input.seed !== undefined && { seed: input.seed }),
        ...(input.stop !== undefined && { stop: input.stop }),
        ...(input.presencePenalty !== undefined && { presence_penalty: input.presencePenalty }),
        ...(input.frequencyPenalty !== undefined && { frequency_penalty: input.frequencyPenalty }),
        ...(input.jsonSchema !== undefined && {
          response_format:
            input.jsonSchema === true ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: 'output', schema: input.jsonSchema } },
        }),
      };
      const { response, release } = await this.pool.post(chat ? '/chat/completions' : '/completions', body, signal);
      try {
        let finishReason: FinishReason = 'stop';
        let promptTokens = 0;
        let completionTokens = 0;
        let pieces = 0;
        for await (const data of serverSentEvents(response)) {
          if (data === '[DONE]') break;
          const chunk = JSON.parse(data) as StreamChunk;
          const choice = chunk.choices?.[0];
          const text = choice?.delta?.content ?? choice?.text;
          if (text) {
            pieces++;
            push({ type: 'text', text });
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason === 'length' ? 'length' : 'stop';
          if (chunk.usage) {
            promptTokens = chunk.usage.prompt_tokens ?? 0;
            completionTokens = chunk.usage.completion_tokens ?? 0;
          }
        }
        // Upstreams that ignore include_usage: count each streamed piece as a token.
        push({ type: 'done', finishReason, promptTokens, completionTokens: completionTokens || pieces });
      } catch (err) {
        if (signal.aborted) throw abortError(signal, err);
        throw new WeftError(ErrorCode.UpstreamError, `upstream stream of model '${this.options.model}' failed: ${(err as Error).message}`, { cause: err });
      } finally {
        release();
      }
    }, joinText);
  }

  async embed(inputs: string[], signal: AbortSignal): Promise<EmbedResult> {
    const { response, release } = await this.pool.post('/embeddings', { model: this.options.upstreamModel, input: inputs }, signal);
    try {
      const body = (await response.json()) as { data: Array<{ embedding: number[]; index: number }>; usage?: { prompt_tokens?: number } };
      const vectors = [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { vectors, promptTokens: body.usage?.prompt_tokens ?? 0 };
    } finally {
      release();
    }
  }

  async dispose(): Promise<void> {
    this.pool.close();
  }
}

/** The `data:` payloads of a text/event-stream body, one per event. */
async function* serverSentEvents(response: Response): AsyncGenerator<string> {
  if (response.body === null) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffered.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data !== '') yield data;
    }
  }
}
