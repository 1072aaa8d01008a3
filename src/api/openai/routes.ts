// The OpenAI-compatible API over the node's language models: /v1/models, /v1/chat/completions
// and /v1/completions (whole or streamed as server-sent events), /v1/embeddings. Errors use
// OpenAI's error object; a client that disconnects stops its generation at once.

import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { ErrorCode, WeftError } from '../../errors.js';
import type { GenerateEvent, GenerateInput } from '../../backends/index.js';
import type { Engine } from '../../engine/index.js';
import { openAiErrorResponse } from '../http-errors.js';
import { readJsonBody } from '../../http/index.js';
import { scopeOf } from '../telemetry-middleware.js';
import { refuseOtherMethods } from '../methods.js';
import { allows, principalOf } from '../../auth/index.js';
import { respondWithSse } from './sse.js';
import { chatInput, chatRequest, completionInput, completionRequest, embeddingRequest, parseBody } from './wire.js';

export interface OpenAiRoutesOptions {
  /** The node's engine: these routes reach its language models. */
  engine: Pick<Engine, 'languageModels' | 'generationStats' | 'generate' | 'embed'>;
  /** Language models other nodes of the fleet serve: this node forwards requests for them. */
  fleetLanguageModels?: () => readonly string[];
}

type Kind = 'chat' | 'text';

function fail(c: Context, err: unknown): Response {
  const { status, body, headers } = openAiErrorResponse(err);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  return c.json(body, status as 400);
}

/** The OpenAI body of one whole (non-streamed) answer. */
function wholeBody(kind: Kind, id: string, model: string, text: string, done: Extract<GenerateEvent, { type: 'done' }>) {
  const usage = { prompt_tokens: done.promptTokens, completion_tokens: done.completionTokens, total_tokens: done.promptTokens + done.completionTokens };
  const created = Math.floor(Date.now() / 1000);
  if (kind === 'chat') {
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: done.finishReason, logprobs: null }],
      usage,
    };
  }
  return { id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: done.finishReason, logprobs: null }], usage };
}

/** One streamed chunk: a piece of text, the finish reason, or (with no choices) the usage. */
function chunkBody(kind: Kind, id: string, model: string, part: { text?: string; role?: boolean; finish?: string; usage?: object }) {
  const created = Math.floor(Date.now() / 1000);
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  if (part.usage) return { id, object, created, model, choices: [], usage: part.usage };
  const finish_reason = part.finish ?? null;
  const choice =
    kind === 'chat'
      ? { index: 0, delta: part.text === undefined ? {} : { ...(part.role && { role: 'assistant' }), content: part.text }, finish_reason, logprobs: null }
      : { index: 0, text: part.text ?? '', finish_reason, logprobs: null };
  return { id, object, created, model, choices: [choice] };
}

async function generateRoute(c: Context, engine: OpenAiRoutesOptions['engine'], kind: Kind): Promise<Response> {
  const body = await readJsonBody(c);
  const request = kind === 'chat' ? parseBody(chatRequest, body) : parseBody(completionRequest, body);
  const input: GenerateInput = kind === 'chat' ? chatInput(request as never) : completionInput(request as never);
  const model = request.model;
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const scope = scopeOf(c);
  scope?.setOperation(kind === 'chat' ? 'chat' : 'text_completion', model);
  scope?.capture('gen_ai.input.messages', JSON.stringify(input.messages ?? input.prompt));
  // Aborted when the client goes away (the node server aborts the request's signal on close).
  const controller = new AbortController();
  const clientSignal = c.req.raw.signal;
  const onClose = () => controller.abort(clientSignal.reason);
  clientSignal.addEventListener('abort', onClose, { once: true });
  const events = engine.generate(model, input, {
    signal: controller.signal,
    scope,
    ...(request.priority !== undefined && { priority: request.priority }),
    ...(request.keep_alive !== undefined && { keepAliveMs: request.keep_alive }),
  });
  // The first event is awaited before any byte goes out, so rejections get a proper status.
  let first: IteratorResult<GenerateEvent>;
  try {
    first = await events.next();
  } catch (err) {
    clientSignal.removeEventListener('abort', onClose);
    throw err;
  }
  if (!request.stream) {
    let text = '';
    let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
    try {
      // Read to the end: the generator frees the model's slot and records stats as it ends.
      for (let r = first; !r.done; r = await events.next()) {
        if (r.value.type === 'text') text += r.value.text;
        else done = r.value;
      }
    } finally {
      clientSignal.removeEventListener('abort', onClose);
      await events.return(undefined);
    }
    if (done === undefined) throw new WeftError(ErrorCode.Internal, 'generation ended without a result');
    scope?.capture('gen_ai.output.messages', text);
    return c.json(wholeBody(kind, id, model, text, done));
  }
  const includeUsage = request.stream_options?.include_usage === true;
  // The stream outlives this handler: the request's telemetry ends with it.
  const endScope = scope?.deferEnd();
  return respondWithSse(c, () => controller.abort(), async (sink) => {
    const send = (data: object) => sink.send(JSON.stringify(data));
    try {
      let role = true;
      for (let r = first; !r.done; r = await events.next()) {
        const event = r.value;
        if (event.type === 'text') {
          await send(chunkBody(kind, id, model, { text: event.text, role }));
          role = false;
        } else {
          await send(chunkBody(kind, id, model, { finish: event.finishReason }));
          if (includeUsage) {
            const usage = { prompt_tokens: event.promptTokens, completion_tokens: event.completionTokens, total_tokens: event.promptTokens + event.completionTokens };
            await send(chunkBody(kind, id, model, { usage }));
          }
        }
      }
      await sink.send('[DONE]');
      endScope?.();
    } catch (err) {
      endScope?.(err);
      // Headers are gone: the error travels as an event, as OpenAI's servers do.
      if (!controller.signal.aborted) await send(openAiErrorResponse(err).body).catch(() => undefined);
    } finally {
      controller.abort();
      await events.return(undefined);
      clientSignal.removeEventListener('abort', onClose);
    }
  });
}

export function openAiRoutes(options: OpenAiRoutesOptions): Hono {
  const { engine } = options;
  // This node's own first, then those only other nodes serve.
  const languageModels = () => [...new Set([...engine.languageModels().map((m) => m.name), ...(options.fleetLanguageModels?.() ?? [])])];
  const app = new Hono();
  const guarded = (handler: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      return await handler(c);
    } catch (err) {
      return fail(c, err);
    }
  };

  const modelObject = (id: string) => ({ id, object: 'model', created: 0, owned_by: 'weft' });
  // A key lists what it may call (admin: everything); with auth off, every model.
  const mayCall = (c: Context, name: string) => {
    const principal = principalOf(c);
    return principal === undefined || principal.scopes.includes('admin') || allows(principal.scopes, `infer:${name}`);
  };
  app.get('/v1/models', guarded((c) => c.json({ object: 'list', data: languageModels().filter((name) => mayCall(c, name)).map(modelObject) })));
  app.get(
    '/v1/models/:model',
    guarded((c) => {
      const name = c.req.param('model') ?? '';
      if (!languageModels().includes(name)) throw new WeftError(ErrorCode.ModelNotFound, `model '${name}' is not served here or by any node of the fleet`, { field: 'model' });
      return c.json(modelObject(name));
    }),
  );
  app.post('/v1/chat/completions', guarded((c) => generateRoute(c, engine, 'chat')));
  app.post('/v1/completions', guarded((c) => generateRoute(c, engine, 'text')));
  app.post(
    '/v1/embeddings',
    guarded(async (c) => {
      const request = parseBody(embeddingRequest, await readJsonBody(c));
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      scopeOf(c)?.setOperation('embeddings', request.model);
      const { vectors, promptTokens } = await engine.embed(request.model, inputs, {
        signal: c.req.raw.signal,
        scope: scopeOf(c),
        ...(request.keep_alive !== undefined && { keepAliveMs: request.keep_alive }),
      });
      const base64 = request.encoding_format === 'base64';
      return c.json({
        object: 'list',
        model: request.model,
        data: vectors.map((v, index) => ({
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
        })),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    }),
  );
  // Weft's own view: each LLM's state, queue, upstream health and running stats.
  app.get('/v1/weft/llm', guarded((c) => c.json({ models: engine.languageModels(), stats: engine.generationStats() })));
  refuseOtherMethods(app, guarded);
  return app;
}
