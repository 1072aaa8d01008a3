import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../store/index.js';
import { ModelFile } from './model-file.js';

describe('ModelFile', () => {
  it('passes the deployed content, refuses other content, and passes again once it is restored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-model-file-'));
    try {
      const path = join(dir, 'm.onnx');
      writeFileSync(path, 'deployed weights');
      const file = new ModelFile(path, sha256(Buffer.from('deployed weights')));
      await file.verify('m');
      await file.verify('m');
      writeFileSync(path, 'altered weights!');
      await assert.rejects(file.verify('m'), (err: Error & { code?: string }) => err.code === 'DIGEST_MISMATCH' && /changed after it was deployed/.test(err.message));
      writeFileSync(path, 'deployed weights');
      await file.verify('m');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks nothing for a file no deploy verified', async () => {
    await new ModelFile('/nonexistent/model.onnx', undefined).verify('m');
  });
});
