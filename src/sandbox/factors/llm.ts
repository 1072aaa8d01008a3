// weft:ai/inference's language-model functions: generate-stream / next-chunk / close-stream,
// generate and embed. The worker blocks on the bridge for each call; on the main thread a
// stream is an engine generation (so it waits in the model's queue like an OpenAI request)
// held in the request's handle table, and aborted when the request ends or its worker dies.

// The leaf module, not backends/index.js: component workers load this file too.
import { ChatRoles, type ChatRole, type GenerateEvent, type GenerateInput } from '../../backends/llm-types.js';
import { ErrorCode, WeftError } from '../../errors.js';
import type { Engine } from '../../engine/index.js';
import type { RequestScope } from '../../telemetry/index.js';
import type { GuestContext, HostAnswer, HostContext } from './types.js';

/** Lifted by jco from `generate-input`. */
type WitInput = { tag: 'prompt'; val: string } | { tag: 'chat'; val: Array<{ role: string; content: string }> };

/** Lifted by jco from `generate-params` (`none` is undefined). */
interface WitParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop: string[];
  jsonSchema?: string;
}

export interface GeneratePayload {
  model: string;
  input: WitInput;
  params: WitParams;
}

function invalid(message: string, field: string): WeftError {
  return new WeftError(ErrorCode.BadRequest, message, { field });
}

/** The engine's request from the WIT one; a bad role or schema is invalid-input. */
export function toGenerateInput(input: WitInput, params: WitParams): GenerateInput {
  const out: GenerateInput = {};
  if (input.tag === 'prompt') out.prompt = input.val;
  else {
    out.messages = input.val.map((m, i) => {
      if (!(ChatRoles as readonly string[]).includes(m.role)) throw invalid(`input.chat[${i}].role '${m.role}' is not one of ${ChatRoles.join(', ')}`, `input.chat[${i}].role`);
      return { role: m.role as ChatRole, content: m.content };
    });
  }
  if (params.maxTokens !== undefined) out.maxTokens = params.maxTokens;
  if (params.temperature !== undefined) out.temperature = params.temperature;
  if (params.topP !== undefined) out.topP = params.topP;
  if (params.topK !== undefined) out.topK = params.topK;
  if (params.seed !== undefined) out.seed = params.seed;
  if (params.stop.length > 0) out.stop = params.stop;
  if (params.jsonSchema !== undefined) {
    let schema: unknown;
    try {
      schema = JSON.parse(params.jsonSchema);
    } catch (err) {
      throw invalid(`params.json-schema is not JSON: ${(err as Error).message}`, 'params.json-schema');
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw invalid('params.json-schema must be a JSON object (a JSON schema)', 'params.json-schema');
    out.jsonSchema = schema as Record<string, unknown>;
  }
  return out;
}

/** One generation a component reads chunk by chunk. */
export class GenerationStream {
  private readonly controller = new AbortController();
  private readonly events: AsyncGenerator<GenerateEvent>;
  private readonly onAbort = () => this.controller.abort();
  /** The first event, pulled at start so that rejections surface from generate-stream. */
  private first: GenerateEvent | undefined;

  private constructor(engine: Pick<Engine, 'generate'>, model: string, input: GenerateInput, private readonly signal: AbortSignal, scope: RequestScope | undefined) {
    signal.addEventListener('abort', this.onAbort, { once: true });
    if (signal.aborted) this.controller.abort();
    this.events = engine.generate(model, input, { signal: this.controller.signal, scope });
  }

  /** Waits for admission (the model's queue) and the first event; throws the engine's refusal. */
  static async start(engine: Pick<Engine, 'generate'>, model: string, input: GenerateInput, signal: AbortSignal, scope?: RequestScope): Promise<GenerationStream> {
    const stream = new GenerationStream(engine, model, input, signal, scope);
    try {
      const r = await stream.events.next();
      if (!r.done) stream.first = r.value;
    } catch (err) {
      await stream.close();
      throw err;
    }
    return stream;
  }

  /** The next event; undefined once the generation is over. */
  async next(): Promise<GenerateEvent | undefined> {
    if (this.first !== undefined) {
      const e = this.first;
      this.first = undefined;
      return e;
    }
    const r = await this.events.next();
    return r.done ? undefined : r.value;
  }

  /** Stops the generation; resolves once the engine has released its slot. */
  async close(): Promise<void> {
    this.controller.abort();
    this.signal.removeEventListener('abort', this.onAbort);
    await this.events.return(undefined).catch(() => undefined);
  }
}

function usage(e: Extract<GenerateEvent, { type: 'done' }>) {
  return { promptTokens: e.promptTokens, completionTokens: e.completionTokens, finishReason: e.finishReason };
}

type Granted = (ctx: HostContext, model: string) => void;

/** Host operations, by name; `granted` throws for a model the app may not use. */
export function llmHostOps(granted: Granted) {
  return {
    'generate-start': async (ctx: HostContext, p: GeneratePayload): Promise<HostAnswer> => {
      granted(ctx, p.model);
      const stream = await GenerationStream.start(ctx.engine, p.model, toGenerateInput(p.input, p.params), ctx.signal, ctx.scope);
      return { value: { tag: 'ok', val: ctx.handles.add(stream) } };
    },
    'next-chunk': async (ctx: HostContext, handle: number): Promise<HostAnswer> => {
      const stream = ctx.handles.get(handle) as GenerationStream | undefined;
      if (stream === undefined) throw new WeftError(ErrorCode.BadRequest, `no open stream ${handle} (it ended, was closed, or belongs to another request)`);
      try {
        const e = await stream.next();
        if (e === undefined) throw new WeftError(ErrorCode.InferenceFailed, 'the generation ended without a done event');
        if (e.type === 'text') return { value: { tag: 'ok', val: { tag: 'text', val: e.text } } };
        ctx.handles.take(handle);
        // Frees the slot before the component hears `done`, so its next call can take it.
        await stream.close();
        return { value: { tag: 'ok', val: { tag: 'done', val: usage(e) } } };
      } catch (err) {
        ctx.handles.take(handle);
        await stream.close();
        throw err;
      }
    },
    'close-stream': async (ctx: HostContext, handle: number): Promise<HostAnswer> => {
      await ctx.handles.take(handle)?.close();
      return { value: undefined };
    },
    generate: async (ctx: HostContext, p: GeneratePayload): Promise<HostAnswer> => {
      granted(ctx, p.model);
      const stream = await GenerationStream.start(ctx.engine, p.model, toGenerateInput(p.input, p.params), ctx.signal, ctx.scope);
      try {
        let text = '';
        for (let e = await stream.next(); e !== undefined; e = await stream.next()) {
          if (e.type === 'text') text += e.text;
          else return { value: { tag: 'ok', val: { text, usage: usage(e) } } };
        }
        throw new WeftError(ErrorCode.InferenceFailed, 'the generation ended without a done event');
      } finally {
        await stream.close();
      }
    },
    embed: async (ctx: HostContext, p: { model: string; inputs: string[] }): Promise<HostAnswer> => {
      granted(ctx, p.model);
      const { vectors } = await ctx.engine.embed(p.model, p.inputs, { signal: ctx.signal, scope: ctx.scope });
      // jco lowers list<f32> from typed arrays.
      const lists = vectors.map((v) => Float32Array.from(v));
      return { value: { tag: 'ok', val: lists }, transfer: lists.map((l) => l.buffer as ArrayBuffer) };
    },
  };
}

type NotGranted = (ctx: GuestContext, model: string) => unknown;

/** The worker-side imports; the grant check here is a courtesy, the host checks again. */
export function llmGuest(ctx: GuestContext, notGranted: NotGranted) {
  const may = (model: string) => ctx.grants.models.includes(model);
  const op = (name: string) => `weft:ai/inference#${name}`;
  return {
    generateStream: (model: string, input: WitInput, params: WitParams) => (may(model) ? ctx.call(op('generate-start'), { model, input, params }) : notGranted(ctx, model)),
    nextChunk: (stream: number) => ctx.call(op('next-chunk'), stream),
    closeStream: (stream: number) => {
      ctx.call(op('close-stream'), stream);
    },
    generate: (model: string, input: WitInput, params: WitParams) => (may(model) ? ctx.call(op('generate'), { model, input, params }) : notGranted(ctx, model)),
    embed: (model: string, inputs: string[]) => (may(model) ? ctx.call(op('embed'), { model, inputs }) : notGranted(ctx, model)),
  };
}
