// weft.json validation: a full manifest parses with defaults filled in; each mistake is refused
// with the field at fault; the published JSON Schema matches the definition.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCode } from '../errors.js';
import { manifestSchemaJson } from '../../scripts/manifest-schema-json.js';
import { parseManifest } from './manifest.js';

const ocr = {
  name: 'ocr',
  version: '0.1.0',
  description: 'Reads text in images',
  models: [
    { name: 'ppocr-det', file: 'models/det.onnx', serving: { max_batch_size: 4 } },
    { name: 'chat', upstream: ['http://127.0.0.1:11434/v1'], protocol: 'openai' },
  ],
  component: { file: 'app.wasm', grants: { models: ['ppocr-det'] } },
  routes: [{ path: '/*', methods: ['POST'] }],
  resources: { memory: '1GiB', labels: { tier: 'edge' } },
};

describe('manifest', () => {
  it('parses a full manifest and fills in defaults', () => {
    const m = parseManifest(ocr);
    assert.equal(m.component!.world, 'weft:app/app@0.1.0');
    assert.equal(m.component!.instances, 'pooled');
    assert.deepEqual(m.component!.limits, { memory: '64MiB', deadline: '10s', concurrency: 4 });
    assert.deepEqual(m.component!.grants.config, {});
    assert.deepEqual(parseManifest({ name: 'bare', version: '1.0.0' }).models, []);
  });

  const bad: Array<[string, unknown, string]> = [
    ['a bad name', { ...ocr, name: 'My App' }, 'name'],
    ['a bad version', { ...ocr, version: 'latest' }, 'version'],
    ['an unknown key', { ...ocr, colour: 'red' }, ''],
    ['a model with both file and upstream', { ...ocr, models: [{ name: 'x', file: 'a.onnx', upstream: ['http://h/'] }] }, 'models[0]'],
    ['a model path leaving the app folder', { ...ocr, models: [{ name: 'x', file: '../secret.onnx' }] }, 'models[0].file'],
    ['a model listed twice', { ...ocr, models: [{ name: 'x', file: 'a.onnx' }, { name: 'x', file: 'b.onnx' }] }, 'models[1].name'],
    ['a bad memory limit', { ...ocr, component: { file: 'app.wasm', limits: { memory: 'lots' } } }, 'component.limits.memory'],
    ['routes without a component', { name: 'x', version: '1.0.0', routes: [{ path: '/' }] }, 'routes'],
  ];
  for (const [what, raw, field] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(() => parseManifest(raw), (err: { code: string; field: string; message: string }) => {
        assert.equal(err.code, ErrorCode.InvalidManifest);
        assert.equal(err.field, field, err.message);
        assert.match(err.message, /^weft\.json: /);
        return true;
      });
    });
  }

  it('publishes a JSON Schema that matches the definition (npx tsx scripts/write-manifest-schema.ts)', () => {
    assert.equal(readFileSync(new URL('../../schemas/weft.schema.json', import.meta.url), 'utf8'), manifestSchemaJson());
  });
});
