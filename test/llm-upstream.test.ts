// A Weft node whose model `tiny` is served by upstreams: a second Weft node (the real one) and a
// dead URL. Requests go to the live one (streamed or not) and the dead one is taken out.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { openAiClient, startTinyNode, type TinyNode } from './kit/llm.js';
import { fetchJson, startWeft, type WeftProcess } from './kit/weft-process.js';

const hello = [{ role: 'user' as const, content: 'Hello?' }];

/** A loopback URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

describe('remote upstreams', () => {
  let upstream: TinyNode;
  let proxy: WeftProcess;
  let client: OpenAI;
  let dead: string;
  before(async () => {
    upstream = await startTinyNode(['--llm-parallel', '4', '--llm-context-size', '512']);
    dead = await deadUrl();
    proxy = await startWeft(['--upstream', `tiny=${dead}`, '--upstream', `tiny=${upstream.weft.url}`, '--upstream', `gone=${dead}`]);
    client = openAiClient(proxy.url);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it('proxies chat, streamed or not, with the upstream’s own output', async () => {
    const request = { model: 'tiny', messages: hello, max_tokens: 12, seed: 5, temperature: 1 };
    const direct = await upstream.client.chat.completions.create(request);
    // Several requests: whichever upstream the balancer tries first, all succeed.
    for (let i = 0; i < 3; i++) {
      const viaProxy = await client.chat.completions.create(request);
      assert.equal(viaProxy.choices[0]!.message.content, direct.choices[0]!.message.content);
      assert.equal(viaProxy.usage!.completion_tokens, 12);
    }
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let tokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
    assert.equal(text, direct.choices[0]!.message.content);
    assert.equal(tokens, 12);
    const completion = await client.completions.create({ model: 'tiny', prompt: 'Once', max_tokens: 3 });
    assert.equal(completion.usage!.completion_tokens, 3);
    const embeddings = await client.embeddings.create({ model: 'tiny', input: 'one' });
    assert.equal(embeddings.data[0]!.embedding.length, 64);
  });

  it('takes the dead upstream out and says why', async () => {
    const { body } = await fetchJson(`${proxy.url}/v1/weft/llm`);
    const tiny = body.models.find((m: { name: string }) => m.name === 'tiny');
    const byUrl = Object.fromEntries(tiny.upstreams.map((u: { url: string }) => [u.url, u]));
    assert.equal(byUrl[dead].healthy, false);
    assert.match(byUrl[dead].lastError, /ECONNREFUSED/);
    assert.equal(byUrl[upstream.weft.url].healthy, true);
    assert.equal(byUrl[upstream.weft.url].inflight, 0);
  });

  it('answers 503 when no upstream is reachable, and passes upstream 4xx errors on', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'gone', messages: hello }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 503);
      assert.equal(err.code, 'upstream_unavailable');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(600) }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, 'context_length_exceeded');
      return true;
    });
  });
});
