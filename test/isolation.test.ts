// End to end: one caller's model call can never reach another caller's rows. A component sends
// tensors whose declared shape disagrees with their data (claims 2 rows and sends 1, claims 0)
// while KServe clients run on the same batched model: the component gets a typed invalid-input
// error, every KServe request gets 200 and its own, correct answer.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { testComponent, writeApp } from './kit/components.js';
import { AFFINE_B_V2, AFFINE_W, writeTestModels } from './kit/models.js';

/** Runs `tasks` with at most `width` at once. */
async function pool<T>(tasks: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

const affine = (x: readonly number[]) => [0, 1, 2].map((j) => x.reduce((s, v, i) => s + v * AFFINE_W[i]![j]!, AFFINE_B_V2[j]!));

describe('isolation between callers of one batched model', () => {
  let dir: string;
  let node: WeftNode;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-isolation-'));
    await writeTestModels(join(dir, 'models'));
    // Batches of up to 8 rows that wait a little for company, so that liars and honest callers share batches.
    writeFileSync(join(dir, 'models', 'affine', 'config.json'), JSON.stringify({ max_batch_size: 8, max_queue_delay_us: 5000, max_queue_size: 1000 }));
    const app = writeApp(join(dir, 'liar'), await testComponent('liar'), {
      name: 'liar',
      version: '1.0.0',
      component: { grants: { models: ['affine'], config: {} }, limits: { concurrency: 4, deadline: '60s' } },
    });
    const config = loadConfig({ flags: { port: '0', models: join(dir, 'models'), app: [app], 'data-dir': join(dir, 'data'), 'log-level': 'error', 'allow-unsigned': 'true' } });
    node = await startNode(config, createLogger('error', () => {}));
    url = `http://127.0.0.1:${node.address.port}`;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const liar = async (claim: number, send: number) => {
    const res = await fetch(`${url}/apps/liar/?model=affine&claim=${claim}&send=${send}`, { method: 'POST' });
    return { status: res.status, text: await res.text() };
  };

  it('answers an honest component call', async () => {
    const { status, text } = await liar(1, 1);
    assert.equal(status, 200);
    assert.match(text, /^ok:1x3:/);
    const got = text.split(':')[2]!.split(',').map(Number);
    affine([1000, 1001, 1002, 1003]).forEach((v, j) => assert.ok(Math.abs(got[j]! - v) < 1e-2, `${got[j]} vs ${v}`));
  });

  it('refuses lying tensors with a typed error while every KServe request gets its own answer', async () => {
    const lies: Array<[number, number]> = [[2, 1], [0, 0], [0, 1], [3, 2], [1, 0]];
    const kserve = Array.from({ length: 240 }, (_, i) => async () => {
      const x = [i, -i, i / 2, 1];
      const res = await fetch(`${url}/v2/models/affine/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] }),
      });
      const body = (await res.json()) as { outputs?: Array<{ shape: number[]; data: number[] }>; error?: string };
      return { kind: 'kserve' as const, x, status: res.status, body };
    });
    const liars = Array.from({ length: 80 }, (_, i) => async () => {
      const [claim, send] = lies[i % lies.length]!;
      return { kind: 'liar' as const, claim, send, ...(await liar(claim, send)) };
    });
    // Interleave so that lies arrive while honest requests wait for company in the batcher.
    const tasks: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < kserve.length; i++) {
      tasks.push(kserve[i]!);
      if (i % 3 === 0 && liars[i / 3]) tasks.push(liars[i / 3]!);
    }
    const results = (await pool(tasks, 12)) as Array<Awaited<ReturnType<(typeof kserve)[0]>> | Awaited<ReturnType<(typeof liars)[0]>>>;
    let wrong = 0;
    const failed = results.flatMap((r) => (r.kind === 'kserve' && r.status !== 200 ? [JSON.stringify(r.body)] : []));
    const leaked = results.flatMap((r) => (r.kind === 'liar' && !r.text.startsWith('err:2:') ? [r.text.slice(0, 120)] : []));
    assert.deepEqual({ failed, leaked }, { failed: [], leaked: [] });
    for (const r of results) {
      if (r.kind === 'kserve') {
        assert.equal(r.status, 200, `KServe request failed: ${JSON.stringify(r.body)}`);
        const out = r.body.outputs![0]!;
        assert.deepEqual(out.shape, [1, 3]);
        const expected = affine(r.x);
        if (out.data.some((v, j) => Math.abs(v - expected[j]!) > 1e-3)) wrong++;
      } else {
        assert.equal(r.status, 200);
        assert.match(r.text, /^err:2:/, `claim ${r.claim} send ${r.send}: the component must get invalid-input, got ${r.text.slice(0, 200)}`);
      }
    }
    assert.equal(wrong, 0, 'KServe answers computed from another caller\'s rows');
  });

  it('names the problem in the error the component gets', async () => {
    assert.match((await liar(2, 1)).text, /^err:2:.*input 'x'.*shape \[2,4\].*4 elements.*needs 8/);
    assert.match((await liar(0, 0)).text, /^err:2:.*input 'x'.*no rows/);
  });

  it('answers a KServe request with no rows 400, not 500', async () => {
    const res = await fetch(`${url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [0, 4], datatype: 'FP32', data: [] }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; field: string };
    assert.deepEqual({ code: body.code, field: body.field }, { code: 'INVALID_SHAPE', field: 'inputs[0].shape' });
  });
});
