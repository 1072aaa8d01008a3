// End to end: components calling a language model through weft:ai/inference — streamed chunks
// reach the component, a whole generation, embeddings of the model's size, a model that was not
// granted refused with how to fix it, a component killed at its deadline mid-generation giving
// its sequence back (one sequence, so the next request shows it), and the classifier example
// returning schema-valid JSON from the tiny random model.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { testComponent, writeApp } from './kit/components.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';

const CLASSIFIER = resolve(import.meta.dirname, '../examples/classifier');
const LABELS = ['positive', 'negative', 'neutral'];

describe('components calling language models', () => {
  let dir: string;
  let node: WeftNode;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-llm-components-'));
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    const llm = await testComponent('llm');
    const apps = [
      writeApp(join(dir, 'llm'), llm, {
        name: 'llm',
        version: '1.0.0',
        component: { grants: { models: ['llm'], config: {} }, limits: { memory: '16MiB', deadline: '60s', concurrency: 2 } },
      }),
      // The same component with a short deadline, for the request that never returns.
      writeApp(join(dir, 'llm-hang'), llm, {
        name: 'llm-hang',
        version: '1.0.0',
        component: { grants: { models: ['llm'], config: {} }, limits: { memory: '16MiB', deadline: '2s', concurrency: 1 } },
      }),
    ];
    assert.ok(existsSync(join(CLASSIFIER, 'build/classifier.wasm')), 'run `npm run build` first: it builds examples/classifier');
    apps.push(CLASSIFIER);
    // One sequence: a generation that is not given back blocks every later one.
    const flags = {
      port: '0',
      model: [`llm=${gguf}`],
      'llm-threads': '1',
      'llm-parallel': '1',
      'llm-context-size': '32768',
      load: 'eager',
      app: apps,
      'data-dir': join(dir, 'data'),
      'log-level': 'error',
      'allow-unsigned': 'true',
    };
    node = await startNode(loadConfig({ flags }), createLogger('error', () => {}));
    url = `http://127.0.0.1:${node.address.port}`;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body = '') => fetch(`${url}${path}`, { method: 'POST', body });

  it('streams a generation to the component chunk by chunk', async () => {
    const whole = (await (await post('/apps/llm/generate?max=12')).json()) as { text: string };
    for (const query of ['max=12', 'max=12&chat=1']) {
      const res = await post(`/apps/llm/stream?${query}`);
      const body = (await res.json()) as { chunks: number; text: string; completionTokens: number; finishReason: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.completionTokens, 12);
      assert.equal(body.finishReason, 'length');
      assert.ok(body.chunks >= 2 && body.chunks <= 12, `${body.chunks} chunks`);
      assert.ok(body.text.length > 0);
      // Same prompt, seed and greedy sampling: the chunks add up to the whole generation.
      if (query === 'max=12') assert.equal(body.text, whole.text);
    }
  });

  it('returns a whole generation, the same for the same seed', async () => {
    const a = (await (await post('/apps/llm/generate?max=6')).json()) as { text: string; completionTokens: number };
    const b = (await (await post('/apps/llm/generate?max=6')).json()) as { text: string; completionTokens: number };
    assert.equal(a.completionTokens, 6);
    assert.equal(a.text, b.text);
  });

  it("embeds texts into vectors of the model's embedding size", async () => {
    const res = await post('/apps/llm/embed');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { sizes: [64, 64] });
  });

  it('refuses a language model that was not granted, saying how to grant it', async () => {
    const res = await post('/apps/llm/generate?model=other');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'APP_BAD_REQUEST');
    assert.match(body.error, /^code 0: the component of app 'llm' may not use model 'other': add it to grants.models in weft.json/);
  });

  it('stops a stream the component left open when its request ends', async () => {
    const res = await post('/apps/llm/partial');
    assert.equal(res.status, 200);
    // With one sequence, this waits for the 30,000-token generation unless it was stopped.
    const next = await post('/apps/llm/generate?max=4');
    assert.equal(next.status, 200);
    assert.equal(((await next.json()) as { completionTokens: number }).completionTokens, 4);
  });

  it('gives the sequence back when a component is killed at its deadline mid-generation', async () => {
    const res = await post('/apps/llm-hang/hang');
    assert.equal(res.status, 504, await res.clone().text());
    assert.equal(((await res.json()) as { code: string }).code, 'COMPONENT_DEADLINE');
    // The 30,000-token generation stops: the model's only sequence is free for the next call.
    const next = await post('/apps/llm/generate?max=4');
    assert.equal(next.status, 200);
    for (let i = 0; node.engine.languageModels()[0]!.inflight > 0; i++) {
      if (i > 3000) assert.fail('the generation never stopped');
      await sleep(20);
    }
    assert.ok(node.engine.generationStats().llm!.completionTokens < 30_000);
  });

  it('classifies text with a schema-constrained answer (the example app)', async () => {
    for (const text of ['I love this product', 'This is terrible']) {
      const res = await post('/apps/classifier', text);
      const body = (await res.json()) as { label: string; confidence: number; raw: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      // The tiny model's weights are random: check the shape the schema demands, not the meaning.
      assert.ok(LABELS.includes(body.label), body.label);
      assert.ok(typeof body.confidence === 'number' && body.confidence >= 0 && body.confidence <= 1, String(body.confidence));
      assert.deepEqual(Object.keys(JSON.parse(body.raw) as object).sort(), ['confidence', 'label']);
    }
    const empty = await post('/apps/classifier', '');
    assert.equal(empty.status, 400);
  });
});
