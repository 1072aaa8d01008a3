// The runtime's start-up is not charged to the first model a process loads. Its own file, so that
// the load below is this process's first ONNX Runtime session.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModels } from '../../../test/kit/models.js';
import { OnnxBackend } from './onnx-backend.js';
import { IDENTITY_MODEL } from './warm-up.js';

it("measures a tiny model loaded first at its own size, not the runtime's start-up", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-warm-'));
  try {
    await writeTestModels(dir);
    const path = join(dir, 'identity_fp32', '1', 'model.onnx');
    assert.deepEqual(IDENTITY_MODEL, readFileSync(path), 'the embedded graph is the kit model it says it is');
    const model = await new OnnxBackend({ warn: () => {} }).load(path, { device: 'cpu', intraOpThreads: 1, instances: 1 });
    // Without the warm-up this first session measured 27 MB (AMD EPYC, onnxruntime-node 1.30).
    assert.ok(model.measuredBytes! < 8 * 2 ** 20, `measured ${model.measuredBytes} bytes for a 150-byte model`);
    await model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
