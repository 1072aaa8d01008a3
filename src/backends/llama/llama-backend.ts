// GGUF language models on llama.cpp through node-llama-cpp: one context per model holding
// `parallel` sequences, so that that many generations advance together in shared batches.
// Prebuilt binaries come from npm (@node-llama-cpp/*); nothing is ever built or downloaded.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  LlamaText,
} from 'node-llama-cpp';

/** node-llama-cpp is imported on first load: a node without GGUF models never pays for it. */
type Library = typeof import('node-llama-cpp');
import { ErrorCode, WeftError, abortError } from '../../errors.js';
import type { Device } from '../types.js';
import { joinText, type ChatMessage, type EmbedResult, type GenerateEvent, type GenerateInput, type LlmModel } from '../llm-types.js';
import { eventStream } from '../event-stream.js';
import { grammarSchema } from './json-schema.js';

/** Where a request's JSON schema sits (the OpenAI API's field; components pass theirs the same way). */
const SCHEMA_FIELD = 'response_format.json_schema.schema';

/**
 * Grammars kept per model, least recently used dropped first: each distinct schema makes one, and
 * without a bound a client sending ever new schemas would grow the process without limit.
 */
export const GRAMMAR_CACHE_SIZE = 32;

export interface LlamaLoadOptions {
  device: Device;
  /** Tokens of context per sequence. */
  contextSize: number;
  /** Sequences in the context: generations that run at once. */
  parallel: number;
  /** CPU threads; 0 picks half the logical CPUs (about the physical cores). */
  threads: number;
}

export interface LlamaBackendOptions {
  warn(message: string): void;
}

/** Loads GGUF files. Holds one llama.cpp binding per GPU kind for the whole process. */
export class LlamaBackend {
  private readonly bindings = new Map<string, Promise<Llama>>();
  private library: Promise<Library> | undefined;

  constructor(private readonly options: LlamaBackendOptions) {}

  private binding(gpu: 'cuda' | false): Promise<Llama> {
    const key = String(gpu);
    let llama = this.bindings.get(key);
    if (llama === undefined) {
      // build 'never': only the prebuilt binaries npm installed are used; a missing one is an error.
      llama = this.lib().then((lib) => lib.getLlama({ gpu, build: 'never', skipDownload: true, logLevel: lib.LlamaLogLevel.error, progressLogs: false }));
      this.bindings.set(key, llama);
      llama.catch(() => this.bindings.delete(key));
    }
    return llama;
  }

  private lib(): Promise<Library> {
    return (this.library ??= import('node-llama-cpp'));
  }

  /**
   * Bytes a loaded GGUF takes, estimated before loading: the weights take about the file's size,
   * and the KV cache holds, for every layer, one key and one value vector (f16) per token of
   * context of every sequence (context_size × parallel, an upper bound), read from the GGUF's
   * metadata. An estimate: llama.cpp's compute buffers are not counted.
   */
  async estimateMemory(path: string, options: Pick<LlamaLoadOptions, 'contextSize' | 'parallel'>): Promise<number> {
    const weights = statSync(path).size;
    const lib = await this.lib();
    const info = await lib.readGgufFileInfo(path, { readTensorInfo: false });
    const arch = info.architectureMetadata as { block_count?: number; embedding_length?: number; attention?: { head_count?: number; head_count_kv?: number | number[] } };
    const layers = arch.block_count ?? 0;
    const embd = arch.embedding_length ?? 0;
    const heads = arch.attention?.head_count ?? 1;
    const kvHeadsRaw = arch.attention?.head_count_kv ?? heads;
    const kvHeads = Array.isArray(kvHeadsRaw) ? Math.max(...kvHeadsRaw) : kvHeadsRaw;
    const kvPerToken = 2 * layers * Math.ceil((embd * kvHeads) / heads) * 2;
    return weights + kvPerToken * options.contextSize * options.parallel;
  }

  async load(path: string, options: LlamaLoadOptions): Promise<LlamaLocalModel> {
    let llama: Llama;
    let device: Device = 'cpu';
    if (options.device === 'cuda') {
      try {
        llama = await this.binding('cuda');
        device = 'cuda';
      } catch (err) {
        this.options.warn(`CUDA is not usable for llama.cpp (${(err as Error).message}); running on the CPU`);
        llama = await this.binding(false);
      }
    } else {
      llama = await this.binding(false);
    }
    const model = await llama.loadModel({ modelPath: path, gpuLayers: device === 'cuda' ? 'max' : 0 });
    const threads = options.threads > 0 ? options.threads : Math.max(1, Math.floor(availableParallelism() / 2));
    try {
      const context = await model.createContext({ contextSize: options.contextSize, sequences: options.parallel, threads });
      return new LlamaLocalModel(await this.lib(), llama, model, context, device, threads);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }
}

export class LlamaLocalModel implements LlmModel {
  readonly kind = 'local';
  readonly concurrency: number;
  readonly contextSize: number;
  private readonly free: LlamaContextSequence[] = [];
  /** Sequences running a generation: the KV cells they hold are the cache in use. */
  private readonly busy = new Set<LlamaContextSequence>();
  private embedding: Promise<LlamaEmbeddingContext> | undefined;
  private embedQueue: Promise<unknown> = Promise.resolve();
  /** The chat template, resolved once from the GGUF metadata (a known format or its Jinja template). */
  private readonly chatWrapper: ChatWrapper;
  /** Grammars by schema JSON, least recently used first (GRAMMAR_CACHE_SIZE at most). */
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  /**
   * Bytes of text one token stands for, at most: a prompt longer than contextSize × this cannot
   * fit, and is refused without tokenizing it (tokenizing is native, synchronous, and holds the
   * event loop for seconds on tens of MB).
   */
  readonly longestTokenBytes: number;
  /** Prompt tokens counted by check(), for generate() of the same input not to count them again. */
  private readonly counted = new WeakMap<GenerateInput, number>();

  constructor(
    private readonly lib: Library,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly device: Device,
    private readonly threads: number,
  ) {
    this.concurrency = context.totalSequences;
    this.contextSize = context.contextSize;
    this.chatWrapper = lib.resolveChatWrapper(model);
    this.longestTokenBytes = longestTokenBytes(model);
    for (let i = 0; i < this.concurrency; i++) this.free.push(context.getSequence());
  }

  async check(input: GenerateInput): Promise<void> {
    this.counted.set(input, this.promptTokens(input));
    if (input.jsonSchema !== undefined) await this.grammar(input.jsonSchema);
  }

  generate(input: GenerateInput, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    return eventStream<GenerateEvent>(async (push) => {
      const sequence = this.free.pop();
      if (sequence === undefined) throw new WeftError(ErrorCode.Internal, 'no free sequence: the engine admitted too many generations');
      this.busy.add(sequence);
      try {
        // A sequence keeps its last tokens so a follow-up chat reuses them. A seeded request
        // starts clean: batch shapes then match every time, and so does the output.
        if (input.seed !== undefined) await sequence.clearHistory();
        const promptTokens = this.counted.get(input) ?? this.promptTokens(input);
        const room = this.contextSize - promptTokens;
        const maxTokens = Math.min(input.maxTokens ?? room, room);
        let completionTokens = 0;
        const options = {
          signal,
          stopOnAbortSignal: false,
          maxTokens,
          temperature: input.temperature ?? 0.8,
          ...(input.topP !== undefined && { topP: input.topP }),
          ...(input.topK !== undefined && { topK: input.topK }),
          ...(input.seed !== undefined && { seed: input.seed }),
          ...(input.stop?.length && { customStopTriggers: input.stop }),
          repeatPenalty: input.presencePenalty || input.frequencyPenalty
            ? { penalty: 1, presencePenalty: input.presencePenalty ?? 0, frequencyPenalty: input.frequencyPenalty ?? 0 }
            : (false as const),
          ...(input.jsonSchema !== undefined && { grammar: await this.grammar(input.jsonSchema) }),
          onTextChunk: (text: string) => {
            if (text !== '') push({ type: 'text', text });
          },
          onToken: (tokens: readonly unknown[]) => {
            completionTokens += tokens.length;
          },
        };
        let stopReason: string;
        if (input.messages) {
          const chat = new this.lib.LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper, autoDisposeSequence: false });
          try {
            const result = await chat.generateResponse(toHistory(input.messages), options);
            stopReason = result.metadata.stopReason;
          } finally {
            chat.dispose({ disposeSequence: false });
          }
        } else {
          const completion = new this.lib.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
          try {
            const result = await completion.generateCompletionWithMeta(input.prompt ?? '', options);
            stopReason = result.metadata.stopReason;
          } finally {
            completion.dispose({ disposeSequence: false });
          }
        }
        push({ type: 'done', finishReason: stopReason === 'maxTokens' ? 'length' : 'stop', promptTokens, completionTokens });
      } finally {
        this.busy.delete(sequence);
        this.free.push(sequence);
      }
    }, joinText);
  }

  /**
   * The fraction of the context's KV cells (contextSize per sequence, every sequence) held by
   * running generations: each holds one cell per token of its state. An idle sequence keeps its
   * last tokens only for reuse by a follow-up chat; like a prefix cache's free blocks in vLLM,
   * they are counted as free.
   */
  kvCacheUsage(): number {
    let used = 0;
    for (const sequence of this.busy) used += sequence.nextTokenIndex;
    return Math.min(1, used / (this.contextSize * this.concurrency));
  }

  async embed(inputs: string[], signal: AbortSignal): Promise<EmbedResult> {
    // One embedding context (one sequence) per model, created on first use; calls take turns.
    const limit = Math.min(this.contextSize, 2048);
    this.embedding ??= this.model.createEmbeddingContext({ contextSize: limit, threads: this.threads });
    const run = this.embedQueue.then(async () => {
      const context = await this.embedding!;
      const vectors: number[][] = [];
      let promptTokens = 0;
      for (const [i, text] of inputs.entries()) {
        if (signal.aborted) throw abortError(signal);
        const bytes = Buffer.byteLength(text);
        if (bytes > limit * this.longestTokenBytes) {
          throw new WeftError(ErrorCode.ContextLengthExceeded, `input ${i} is ${bytes} bytes: more than the ${limit} tokens an embedding takes can hold, at ${this.longestTokenBytes} bytes a token at most`, {
            field: `input[${i}]`,
          });
        }
        const tokens = this.model.tokenize(text);
        if (tokens.length > limit) {
          throw new WeftError(ErrorCode.ContextLengthExceeded, `input ${i} is ${tokens.length} tokens; embeddings take at most ${limit}`, {
            field: `input[${i}]`,
          });
        }
        promptTokens += tokens.length;
        vectors.push([...(await context.getEmbeddingFor(tokens)).vector]);
      }
      return { vectors, promptTokens };
    });
    this.embedQueue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    if (this.embedding) await (await this.embedding.catch(() => undefined))?.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }

  /**
   * The prompt's tokens, or CONTEXT_LENGTH_EXCEEDED when they do not leave room for one more: by
   * its size in bytes, without tokenizing, when even tokens of the longest kind could not fit it.
   */
  private promptTokens(input: GenerateInput): number {
    const field = input.messages ? 'messages' : 'prompt';
    // Chat: the text the template makes of the messages (what is tokenized, trimmed or not).
    const text = input.messages ? this.chatWrapper.generateContextState({ chatHistory: toHistory(input.messages) }).contextText : (input.prompt ?? '');
    const bytes = typeof text === 'string' ? Buffer.byteLength(text) : this.textBytes(text);
    if (bytes > this.contextSize * this.longestTokenBytes) {
      throw new WeftError(
        ErrorCode.ContextLengthExceeded,
        `the prompt is ${bytes} bytes: more than this model's context of ${this.contextSize} tokens (--llm-context-size) can hold, at ${this.longestTokenBytes} bytes a token at most`,
        { field },
      );
    }
    const tokens =
      typeof text === 'string'
        ? this.model.tokenize(text).length + (this.model.tokens.shouldPrependBosToken ? 1 : 0)
        : text.tokenize(this.model.tokenizer).length;
    if (tokens >= this.contextSize) {
      throw new WeftError(ErrorCode.ContextLengthExceeded, `the prompt is ${tokens} tokens; this model's context holds ${this.contextSize} (--llm-context-size)`, { field });
    }
    return tokens;
  }

  /** UTF-8 bytes of a text's strings and special-token texts; a special token (BOS...) has none. */
  private textBytes(text: LlamaText): number {
    let bytes = 0;
    for (const value of text.values) {
      if (typeof value === 'string') bytes += Buffer.byteLength(value);
      else if (value instanceof this.lib.SpecialTokensText) bytes += Buffer.byteLength(value.value);
    }
    return bytes;
  }

  private grammar(schema: Record<string, unknown> | true): Promise<LlamaGrammar> {
    const key = schema === true ? 'json' : JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (grammar !== undefined) {
      // Most recently used: to the end of the map's order.
      this.grammars.delete(key);
      this.grammars.set(key, grammar);
    } else {
      grammar = (async () => {
        // What the grammar cannot enforce is refused, naming the keyword, before the library drops it.
        const checked = schema === true ? undefined : grammarSchema(schema, SCHEMA_FIELD);
        try {
          return checked === undefined ? await this.llama.getGrammarFor('json') : await this.llama.createGrammarForJsonSchema(checked as never);
        } catch (err) {
          throw new WeftError(ErrorCode.BadRequest, `the JSON schema is not supported: ${(err as Error).message}`, {
            field: SCHEMA_FIELD,
            cause: err,
          });
        }
      })();
      const made = grammar;
      made.catch(() => this.grammars.get(key) === made && this.grammars.delete(key));
      this.grammars.set(key, made);
      if (this.grammars.size > GRAMMAR_CACHE_SIZE) this.grammars.delete(this.grammars.keys().next().value!);
    }
    return grammar;
  }
}

/**
 * The most bytes of text one token of the model's vocabulary stands for, each token detokenized
 * once at load (about a microsecond each: 0.2 s for a 200,000-token vocabulary). Special tokens
 * count with their text, since a template's special-token text is tokenized too. One byte is
 * added back for the leading space llama.cpp strips from a SentencePiece token detokenized alone;
 * a lone byte token that is not whole UTF-8 reads as U+FFFD (3 bytes), which only loosens the
 * bound. A model without a vocabulary has no bound.
 */
function longestTokenBytes(model: LlamaModel): number {
  let longest = 0;
  for (const token of model.iterateAllTokens()) longest = Math.max(longest, Buffer.byteLength(model.detokenize([token], true)));
  return longest === 0 ? Infinity : longest + 1;
}

/** OpenAI-style messages as node-llama-cpp's chat history; the model answers after the last one. */
function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
  );
  // An empty model turn makes the template open the assistant's answer.
  if (messages.at(-1)?.role !== 'assistant') history.push({ type: 'model', response: [] });
  return history;
}
