// The official `openai` client against `weft serve --model tiny=PATH.gguf`: chat (whole and
// streamed), completions, embeddings, sampling parameters, structured output, 8 concurrent
// streams, and OpenAI-shaped errors.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startTinyNode, type TinyNode } from './kit/llm.js';
import { fetchJson, postJson } from './kit/weft-process.js';

const hello = [{ role: 'user' as const, content: 'Say something.' }];

describe('OpenAI API over a GGUF model', () => {
  let node: TinyNode;
  before(async () => {
    node = await startTinyNode(['--llm-parallel', '8', '--llm-context-size', '512', '--llm-default-max-tokens', '24']);
  });
  after(() => node?.stop());

  it('lists the model', async () => {
    const models = await node.client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['tiny'],
    );
  });

  it('answers a chat, stopping at max_tokens', async () => {
    const r = await node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 8, seed: 1 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0]!.message.role, 'assistant');
    assert.ok(r.choices[0]!.message.content!.length > 0);
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 8);
    assert.ok(r.usage!.prompt_tokens > 0);
  });

  it('gives the same output twice for a fixed seed, streamed or not', async () => {
    const request = { model: 'tiny', messages: hello, max_tokens: 24, seed: 42, temperature: 1 };
    const a = await node.client.chat.completions.create(request);
    const b = await node.client.chat.completions.create(request);
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);

    const stream = await node.client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, a.choices[0]!.message.content);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 24);
    assert.equal(usage?.total_tokens, usage!.prompt_tokens + 24);
  });

  it('stops before a stop sequence', async () => {
    const request = { model: 'tiny', messages: hello, max_tokens: 40, seed: 7, temperature: 1 };
    const full = (await node.client.chat.completions.create(request)).choices[0]!.message.content!;
    const stop = full.slice(12, 14);
    const cut = await node.client.chat.completions.create({ ...request, stop: [stop] });
    assert.equal(cut.choices[0]!.message.content, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
  });

  it('runs 8 streams at once, all to the end', async () => {
    const run = async (seed: number) => {
      const stream = await node.client.chat.completions.create({
        model: 'tiny',
        messages: hello,
        max_tokens: 16,
        seed,
        stream: true,
        stream_options: { include_usage: true },
      });
      let tokens = 0;
      for await (const chunk of stream) if (chunk.usage) tokens = chunk.usage.completion_tokens;
      return tokens;
    };
    const counts = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(run));
    assert.deepEqual(counts, [16, 16, 16, 16, 16, 16, 16, 16]);
  });

  it('constrains the output to a JSON schema', async () => {
    const schema = { type: 'object', properties: { label: { type: 'string', enum: ['spam', 'ham'] } }, required: ['label'] };
    const r = await node.client.chat.completions.create({
      model: 'tiny',
      messages: hello,
      max_tokens: 40,
      seed: 3,
      response_format: { type: 'json_schema', json_schema: { name: 'verdict', schema } },
    });
    const parsed = JSON.parse(r.choices[0]!.message.content!) as { label: string };
    assert.ok(['spam', 'ham'].includes(parsed.label));
  });

  it('caps a chat that names no max_tokens at the default, not at the context', async () => {
    // The tiny model never stops by itself: without the cap it would write until the context is full.
    const r = await node.client.chat.completions.create({ model: 'tiny', messages: hello, seed: 2 });
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 24);
    // A max_tokens given is kept, above the default too.
    const longer = await node.client.chat.completions.create({ model: 'tiny', messages: hello, seed: 2, max_tokens: 30 });
    assert.equal(longer.usage!.completion_tokens, 30);
  });

  it('refuses a JSON schema keyword the grammar cannot enforce, naming it, and serves anyOf', async () => {
    const schema = { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } }, required: ['code'] };
    await assert.rejects(
      node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 20, response_format: { type: 'json_schema', json_schema: { name: 'code', schema } } }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.equal(err.code, 'bad_request');
        assert.equal(err.param, 'response_format.json_schema.schema.properties.code.pattern');
        assert.match(err.message, /'pattern' cannot be enforced/);
        return true;
      },
    );
    const nullable = { type: 'object', properties: { note: { anyOf: [{ type: 'boolean' }, { type: 'null' }] } }, required: ['note'] };
    const r = await node.client.chat.completions.create({
      model: 'tiny',
      messages: hello,
      max_tokens: 40,
      seed: 3,
      response_format: { type: 'json_schema', json_schema: { name: 'note', schema: nullable } },
    });
    const parsed = JSON.parse(r.choices[0]!.message.content!) as { note: unknown };
    assert.ok(parsed.note === null || typeof parsed.note === 'boolean', JSON.stringify(parsed));
  });

  it('refuses a JSON schema past its bounds with a 400 naming the limit, before building a grammar', async () => {
    // 100,000 enum values once kept the main thread building a grammar for over a minute.
    const schema = { type: 'object', properties: { pick: { enum: Array.from({ length: 100_000 }, (_, i) => `value-${i}`) } }, required: ['pick'] };
    const started = performance.now();
    await assert.rejects(
      node.client.chat.completions.create(
        { model: 'tiny', messages: hello, max_tokens: 4, response_format: { type: 'json_schema', json_schema: { name: 'pick', schema } } },
        { timeout: 10_000 },
      ),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.code, 'bad_request');
        assert.match(err.message, /at most 65536 bytes of schema JSON/);
        return true;
      },
    );
    // Under the size bound, the count of values is the limit named.
    const many = { type: 'object', properties: { pick: { enum: Array.from({ length: 1001 }, (_, i) => i) } }, required: ['pick'] };
    await assert.rejects(
      node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4, response_format: { type: 'json_schema', json_schema: { name: 'pick', schema: many } } }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.param, 'response_format.json_schema.schema.properties.pick.enum');
        assert.match(err.message, /at most 1000 enum and const values/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 5000, `refused after ${Math.round(performance.now() - started)} ms`);
  });

  it('refuses a prompt too large for the context by its size, without stalling the node', async () => {
    // 32 MB to a 512-token context: tokenizing it once held the event loop for seconds.
    const body = JSON.stringify({ model: 'tiny', prompt: 'x'.repeat(32 << 20), max_tokens: 1 });
    let settled = false;
    const refused = postJson(`${node.weft.url}/v1/completions`, body).finally(() => (settled = true));
    // Liveness probes, one after another while the prompt is handled, are each answered within 1 s.
    const probes: number[] = [];
    while (!settled) {
      const sent = performance.now();
      const live = await fetch(`${node.weft.url}/v2/health/live`, { signal: AbortSignal.timeout(1000) });
      assert.equal(live.status, 200);
      probes.push(performance.now() - sent);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await refused;
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'context_length_exceeded');
    assert.equal(res.body.error.param, 'prompt');
    assert.match(res.body.error.message, new RegExp(`the prompt is ${32 << 20} bytes`));
    assert.ok(probes.length > 0 && Math.max(...probes) < 1000, JSON.stringify(probes));
  });

  it('answers a wrong method with 405, Allow and an OpenAI error', async () => {
    const res = await fetchJson(`${node.weft.url}/v1/chat/completions`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.equal(res.body.error.code, 'method_not_allowed');
    assert.equal((await fetchJson(`${node.weft.url}/v1/models`, { method: 'POST' })).headers.get('allow'), 'GET, HEAD');
  });

  it('completes raw text and returns embeddings', async () => {
    const c = await node.client.completions.create({ model: 'tiny', prompt: 'Once', max_tokens: 5, seed: 1 });
    assert.equal(c.object, 'text_completion');
    assert.equal(c.usage!.completion_tokens, 5);
    // The client asks for base64 and decodes it.
    const e = await node.client.embeddings.create({ model: 'tiny', input: ['one', 'two'] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[0]!.embedding.length, 64);
    assert.notDeepEqual(e.data[0]!.embedding, e.data[1]!.embedding);
  });

  it('refuses bad requests with OpenAI errors', async () => {
    await assert.rejects(node.client.chat.completions.create({ model: 'nope', messages: hello }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      return true;
    });
    await assert.rejects(node.client.chat.completions.create({ model: 'tiny', messages: hello, temperature: 'hot' as never }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, 'temperature');
      return true;
    });
    await assert.rejects(node.client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(600) }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.param, 'messages');
      return true;
    });
    // A streamed request is judged before its first byte, so it fails with a status too.
    await assert.rejects(node.client.chat.completions.create({ model: 'nope', messages: hello, stream: true }), OpenAI.NotFoundError);
    const broken = await postJson(`${node.weft.url}/v1/chat/completions`, '{"model":');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'invalid_json');
  });

  it('records time to first token, time per token and token counts', async () => {
    const { body } = await fetchJson(`${node.weft.url}/v1/weft/llm`);
    const stats = body.stats.tiny;
    assert.ok(stats.generations >= 10);
    assert.ok(stats.completionTokens >= 8 * 16);
    assert.equal(stats.timeToFirstToken.count, stats.generations);
    assert.ok(stats.timePerOutputToken.count > 0);
    assert.equal(body.models[0].inflight, 0);
    // The same figures reach the node's telemetry (GenAI metrics on /metrics).
    const metrics = await (await fetch(`${node.weft.url}/metrics`)).text();
    assert.match(metrics, /gen_ai_server_time_to_first_token_seconds_count\{[^}]*gen_ai_request_model="tiny"[^}]*\} [1-9]/);
    assert.match(metrics, /gen_ai_client_token_usage_sum\{[^}]*gen_ai_token_type="output"[^}]*\} [1-9]/);
  });
});
