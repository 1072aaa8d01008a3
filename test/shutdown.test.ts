// End to end: SIGTERM stops a node gracefully — it refuses new work, finishes the requests it
// already has, and exits 0, with a language model loaded too.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { fetchJson, startWeft } from './kit/weft-process.js';

function post(url: string, agent: Agent, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
  const weft = await startWeft([]);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  // ppocr-det on a 960×960 image runs long enough to still be running when the signal arrives.
  const size = 3 * 960 * 960;
  const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 960, 960], data: new Array(size).fill(0.1) }] });
  const url = `${weft.url}/v2/models/ppocr-det/infer`;
  // Warm the model (and the connections) so the requests below are parsed and running quickly.
  assert.equal((await post(url, agent, body)).status, 200);

  const inflight = [post(url, agent, body), post(url, agent, body)];
  await new Promise((resolve) => setTimeout(resolve, 300));
  const exited = weft.stop('SIGTERM');
  const results = await Promise.all(inflight);
  for (const r of results) {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs[0].shape, [1, 1, 960, 960]);
  }
  assert.equal(await exited, 0);
  assert.match(weft.logs(), /shutting down/);
  await assert.rejects(fetch(`${weft.url}/v2/health/live`), 'the node still accepts connections after exiting');
  agent.destroy();
});

it('drains and exits 0 on SIGTERM with a language model loaded too', async () => {
  // node-llama-cpp loads signal-exit, which re-raises a signal no other listener is left for.
  const dir = mkdtempSync(join(tmpdir(), 'weft-shutdown-llm-'));
  const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
  const weft = await startWeft(['--model', `tiny=${gguf}`, '--llm-threads', '1']);
  try {
    const chat = (maxTokens: number) => fetchJson(`${weft.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens }) });
    assert.equal((await chat(2)).status, 200);
    const inflight = chat(64);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = weft.stop('SIGTERM');
    assert.equal((await inflight).status, 200, 'the generation in flight finished');
    assert.equal(await exited, 0);
    assert.match(weft.logs(), /stopped/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
