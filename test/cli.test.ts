// End to end: the `weft` command as a user types it — single-model serving, eager loading,
// `weft config`, and clear one-line errors for bad flags and bad model paths.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWeft, postJson } from './kit/weft-process.js';
import { writeTestModels } from './kit/models.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function weft(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

it('serves a single NAME=PATH model, loaded eagerly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
  await writeTestModels(dir);
  const node = await startWeft(['--model', `adder=${join(dir, 'sum_two', '1', 'model.onnx')}`, '--load', 'eager']);
  try {
    const index = await postJson(`${node.url}/v2/repository/index`, {});
    assert.deepEqual(index.body, [{ name: 'adder', version: '1', state: 'READY', reason: '' }]);
    const res = await postJson(`${node.url}/v2/models/adder/infer`, {
      inputs: [
        { name: 'a', datatype: 'INT32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'INT32', shape: [1, 2], data: [3, 4] },
      ],
      outputs: [{ name: 'sum' }],
    });
    assert.deepEqual(res.body.outputs[0].data, [4, 6]);
  } finally {
    assert.equal(await node.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

it('prints every setting with `weft config`', () => {
  const out = weft('config', '--port', '9999');
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /--max-batch-size {2}WEFT_MAX_BATCH_SIZE/);
  assert.match(out.stdout, /port\n.*\n {2}value: 9999/);
});

it('refuses bad flags and missing model files with one clear line', () => {
  const unknown = weft('serve', '--prot', '1');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /INVALID_CONFIG: .*--prot/);
  const missing = weft('serve', '--model', 'x=/no/such/model.onnx');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /INVALID_CONFIG: --model x=\/no\/such\/model.onnx: no such file/);
  const badValue = weft('serve', '--max-batch-size', 'many');
  assert.match(badValue.stderr, /'many' is not an integer/);
});
