// End to end: a GGUF model lives in the node's one memory budget beside the ONNX models — its
// weights and KV cache counted (weft_model_memory_bytes), evicted least recently used to make
// room for an ONNX model and reloaded on its next request, never while it generates; unloaded
// after the request's keep_alive; listed, loaded and unloaded by the KServe repository extension.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { LlamaBackend } from '../src/backends/index.js';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { openAiClient } from './kit/llm.js';
import { writeTestModels } from './kit/models.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { waitFor } from './kit/wait.js';

const TOKEN = 'llm-lifecycle';
const CONTEXT = 256;
const PARALLEL = 2;

describe('a language model in the node memory budget', () => {
  let dir: string;
  let node: WeftNode;
  let url: string;
  let client: OpenAI;
  let ggufBytes: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-llm-life-'));
    await writeTestModels(join(dir, 'models'));
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    ggufBytes = await new LlamaBackend({ warn: () => {} }).estimateMemory(gguf, { contextSize: CONTEXT, parallel: PARALLEL });
    const onnxBytes = statSync(join(dir, 'models', 'affine', '2', 'model.onnx')).size;
    // Room for either model alone, never for both.
    const budget = Math.max(ggufBytes, onnxBytes) + Math.floor(Math.min(ggufBytes, onnxBytes) / 2);
    const config = loadConfig({
      flags: {
        port: '0',
        models: join(dir, 'models'),
        model: `tiny=${gguf}`,
        'memory-budget': String(budget),
        'llm-threads': '1',
        'llm-context-size': String(CONTEXT),
        'llm-parallel': String(PARALLEL),
        'admin-token': TOKEN,
        'data-dir': join(dir, 'data'),
        'log-level': 'error',
      },
    });
    node = await startNode(config, createLogger('error', () => {}));
    url = `http://127.0.0.1:${node.address.port}`;
    client = openAiClient(url, TOKEN);
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // With an admin token every API asks for a key (docs/security.md): the token is one.
  const admin = { Authorization: `Bearer ${TOKEN}` };
  const index = async () => {
    const res = await fetch(`${url}/v2/repository/index`, { method: 'POST', headers: admin });
    return (await res.json()) as Array<{ name: string; version: string; state: string; reason: string }>;
  };
  const stateOf = async (name: string) => (await index()).filter((e) => e.name === name).at(-1)?.state;
  const complete = (extra: Record<string, unknown> = {}) =>
    client.completions.create({ model: 'tiny', prompt: 'hello', max_tokens: 4, temperature: 0, ...extra } as never) as unknown as Promise<OpenAI.Completion>;
  const inferOnnx = async () => {
    const res = await fetch(`${url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    });
    return { status: res.status, body: (await res.json()) as { code?: string } };
  };
  const memoryMetric = async (model: string) => {
    const text = await (await fetch(`${url}/metrics`, { headers: admin })).text();
    const line = text.split('\n').find((l) => l.startsWith(`weft_model_memory_bytes{model="${model}"`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  const evictions = async (reason: string) => {
    const text = await (await fetch(`${url}/metrics`, { headers: admin })).text();
    const line = text.split('\n').find((l) => l.startsWith('weft_model_evictions_total{') && l.includes('model="tiny"') && l.includes(`reason="${reason}"`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  it('lists the GGUF in the repository index, and loads and unloads it as an admin action', async () => {
    assert.deepEqual((await index()).find((e) => e.name === 'tiny'), { name: 'tiny', version: '1', state: 'UNAVAILABLE', reason: 'not loaded; loads on first request' });
    assert.equal((await fetch(`${url}/v2/repository/models/tiny/load`, { method: 'POST' })).status, 401);
    assert.equal((await fetch(`${url}/v2/repository/models/tiny/load`, { method: 'POST', headers: admin })).status, 200);
    assert.equal(await stateOf('tiny'), 'READY');
    // Weights and the KV cache of every sequence, as estimated from the GGUF.
    assert.equal(await memoryMetric('tiny'), ggufBytes);
    assert.equal((await fetch(`${url}/v2/repository/models/tiny/unload`, { method: 'POST', headers: admin })).status, 200);
    const entry = (await index()).find((e) => e.name === 'tiny')!;
    assert.deepEqual({ state: entry.state, reason: entry.reason }, { state: 'UNAVAILABLE', reason: 'unloaded' });
    assert.equal(await memoryMetric('tiny'), undefined);
    await assert.rejects(complete(), (err: { status?: number }) => err.status === 503);
    assert.equal((await fetch(`${url}/v2/repository/models/tiny/load`, { method: 'POST', headers: admin })).status, 200);
  });

  it('answers KServe readiness for the language model, and a tensor call to it with the API it answers', async () => {
    const ready = await fetch(`${url}/v2/models/tiny/ready`, { headers: admin });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { name: 'tiny', ready: true });
    const infer = await fetch(`${url}/v2/models/tiny/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    });
    assert.equal(infer.status, 404);
    const body = (await infer.json()) as { code: string; error: string };
    assert.equal(body.code, 'MODEL_NOT_FOUND');
    assert.match(body.error, /'tiny' is a language model: it answers the OpenAI API/);
  });

  it('is evicted for an ONNX model when the budget needs room, and reloads on its next request', async () => {
    assert.equal((await complete()).choices.length, 1);
    assert.equal(await stateOf('tiny'), 'READY');
    assert.equal((await inferOnnx()).status, 200);
    assert.equal(await stateOf('affine'), 'READY');
    assert.equal(await waitFor('tiny evicted', async () => ((await stateOf('tiny')) === 'UNAVAILABLE' ? true : undefined)), true);
    assert.equal((await index()).find((e) => e.name === 'tiny')!.reason, 'not loaded; loads on first request');
    assert.equal(await memoryMetric('tiny'), undefined);
    assert.equal(await evictions('memory_budget'), 1);

    assert.ok((await complete()).choices[0]!.text.length >= 0);
    assert.equal(await stateOf('tiny'), 'READY', 'reloaded on its next request');
    assert.equal(await waitFor('affine evicted', async () => ((await stateOf('affine')) === 'UNAVAILABLE' ? true : undefined)), true);
  });

  it('is never evicted while it generates', async () => {
    const stream = await client.completions.create({ model: 'tiny', prompt: 'hello', max_tokens: 200, temperature: 0, stream: true });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    const refused = await inferOnnx();
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'MEMORY_BUDGET_EXCEEDED');
    for (let c = await chunks.next(); !c.done; c = await chunks.next());
    assert.equal(await stateOf('tiny'), 'READY');
  });

  it('unloads after the request when its keep_alive is 0, and keeps a negative keep_alive', async () => {
    await complete({ keep_alive: 0 });
    assert.equal(await waitFor('tiny unloaded', async () => ((await stateOf('tiny')) === 'UNAVAILABLE' ? true : undefined)), true);
    assert.equal(await evictions('keep_alive'), 1);
    await complete({ keep_alive: -1 });
    assert.equal(await stateOf('tiny'), 'READY');
    const bad = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ model: 'tiny', prompt: 'x', keep_alive: 'soon' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { param: string | null } }).error.param, 'keep_alive');
  });
});
