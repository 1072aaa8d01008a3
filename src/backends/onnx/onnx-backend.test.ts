// The ONNX backend against real ONNX Runtime in its model workers: signatures with dynamic dims,
// runs spread over two instances, the CUDA request falling back to CPU with a warning on a
// machine without CUDA, and a clear failure for a file that is no model.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModels } from '../../../test/kit/models.js';
import { OnnxBackend } from './onnx-backend.js';

it('reads the signature, runs the model, and falls back to CPU with a warning when CUDA is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-onnx-'));
  try {
    await writeTestModels(dir);
    const warnings: string[] = [];
    const backend = new OnnxBackend({ warn: (m) => warnings.push(m) });
    const model = await backend.load(join(dir, 'sum_two', '1', 'model.onnx'), { device: 'cuda', intraOpThreads: 1, instances: 2 });
    if (model.device === 'cpu') assert.match(warnings[0] ?? '', /CUDA is not available.*running on CPU/);
    assert.deepEqual(model.signature.inputs, [
      { name: 'a', datatype: 'INT32', shape: [-1, 2] },
      { name: 'b', datatype: 'INT32', shape: [-1, 2] },
    ]);
    const out = await model.run(
      { a: { datatype: 'INT32', shape: [1, 2], data: new Int32Array([1, 2]) }, b: { datatype: 'INT32', shape: [1, 2], data: new Int32Array([5, 7]) } },
      ['sum'],
    );
    assert.deepEqual(Object.keys(out), ['sum']);
    assert.deepEqual(Array.from(out.sum!.data as Int32Array), [6, 9]);
    const together = await Promise.all(
      [1, 2, 3, 4].map((k) =>
        model.run({ a: { datatype: 'INT32', shape: [1, 2], data: new Int32Array([k, k]) }, b: { datatype: 'INT32', shape: [1, 2], data: new Int32Array([k, 0]) } }, []),
      ),
    );
    assert.deepEqual(
      together.map((o) => Array.from(o.diff!.data as Int32Array)),
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
      ],
    );
    await model.dispose();

    const broken = join(dir, 'broken.onnx');
    writeFileSync(broken, 'not a model');
    await assert.rejects(backend.load(broken, { device: 'cpu', intraOpThreads: 0, instances: 1 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
