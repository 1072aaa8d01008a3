// A model loaded without --intra-op-threads times its session against a one-thread session on
// its real traffic and keeps the faster (src/backends/onnx/thread-probe.ts); the repository
// index says which and why, and answers stay right across the swap.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSumApp } from './kit/apps.js';
import { waitFor } from './kit/wait.js';
import { postJson, startWeft, type WeftProcess } from './kit/weft-process.js';

let dir: string;
let model: string;
const running: WeftProcess[] = [];
const X = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-threads-'));
  model = join(await writeSumApp(join(dir, 'sum'), 'sum'), 'models', 'sum.onnx');
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function reasonAfter(node: WeftProcess, requests: number): Promise<string> {
  for (let i = 0; i < requests; i++) {
    const r = await postJson(`${node.url}/v2/models/m/infer`, X);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs[0].data, [4]);
  }
  const index = await postJson(`${node.url}/v2/repository/index`, {});
  return index.body.find((e: { name: string }) => e.name === 'm').reason;
}

test('the intra-op thread count is chosen on real traffic and explained in the repository index', { skip: availableParallelism() < 2 ? 'one core: there is no thread count to choose' : false }, async () => {
  const node = await startWeft(['--model', `m=${model}`, '--load', 'eager'], { WEFT_DATA_DIR: join(dir, 'a') });
  running.push(node);
  assert.equal(await reasonAfter(node, 3), '', 'not before the first runs have warmed the session');
  const reason = await waitFor('the thread choice', async () => {
    const r = await reasonAfter(node, 6);
    return r === '' ? undefined : r;
  });
  assert.match(reason, /^(1 intra-op thread|the runtime's default intra-op threads): \d+\.\d\d ms per run on 1 intra-op thread, \d+\.\d\d ms on the runtime's default \(median of \d+, on a real batch\)$/);
  // Whichever session was kept answers right.
  assert.equal(await reasonAfter(node, 5), reason, 'chosen once');
});

test('a thread count the user set is kept, untimed', async () => {
  const node = await startWeft(['--model', `m=${model}`, '--load', 'eager', '--intra-op-threads', '1'], { WEFT_DATA_DIR: join(dir, 'b') });
  running.push(node);
  assert.equal(await reasonAfter(node, 12), '');
});
