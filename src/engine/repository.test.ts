import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { ErrorCode } from '../errors.js';
import { resolveModels } from './repository.js';

describe('model repository: language models', () => {
  it('finds model.gguf versions, upstream-only models and --upstream entries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-repo-llm-'));
    try {
      mkdirSync(join(dir, 'chat', '1'), { recursive: true });
      writeFileSync(join(dir, 'chat', '1', 'model.gguf'), 'GGUF');
      writeFileSync(join(dir, 'chat', 'config.json'), JSON.stringify({ parallel: 2, context_size: 1024 }));
      mkdirSync(join(dir, 'hosted'));
      writeFileSync(join(dir, 'hosted', 'config.json'), JSON.stringify({ upstream: ['http://10.0.0.1:8000/v1'], upstream_model: 'llama3' }));
      const config = loadConfig({ flags: { models: dir, upstream: ['far=http://a:1', 'far=http://b:2'] } });
      const byName = Object.fromEntries(resolveModels(config).map((d) => [d.name, d]));
      assert.equal(byName.chat!.format, 'gguf');
      assert.equal(byName.chat!.config.parallel, 2);
      assert.equal(byName.chat!.config.contextSize, 1024);
      assert.equal(byName.hosted!.format, 'upstream');
      assert.deepEqual(byName.hosted!.config.upstream, ['http://10.0.0.1:8000/v1']);
      assert.equal(byName.hosted!.config.upstreamModel, 'llama3');
      assert.deepEqual(byName.far!.config.upstream, ['http://a:1', 'http://b:2']);
      assert.equal(byName.far!.config.parallel, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, naming the file and the layout, about models outside DIR/<name>/<version>/ and an empty repository', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-repo-flat-'));
    try {
      const warnings: string[] = [];
      const scan = () => resolveModels(loadConfig({ flags: { models: dir } }), (m) => warnings.push(m));
      assert.deepEqual(scan(), []);
      assert.deepEqual(warnings, [`the model repository ${dir} holds no model: expected ${dir}/<name>/<version>/model.onnx (or model.gguf), e.g. ${dir}/mymodel/1/model.onnx`]);
      warnings.length = 0;
      writeFileSync(join(dir, 'flat.onnx'), 'x');
      mkdirSync(join(dir, 'noversion'));
      writeFileSync(join(dir, 'noversion', 'model.onnx'), 'x');
      mkdirSync(join(dir, 'empty', '1'), { recursive: true });
      mkdirSync(join(dir, 'good', '1'), { recursive: true });
      writeFileSync(join(dir, 'good', '1', 'model.onnx'), 'x');
      assert.deepEqual(scan().map((d) => d.name), ['good']);
      assert.deepEqual(warnings.sort(), [
        `${dir}/empty holds no model: expected ${dir}/empty/<version>/model.onnx (or model.gguf), or a config.json naming an upstream`,
        `${dir}/empty/1 holds no model.onnx or model.gguf: version 1 of 'empty' is not served`,
        `${dir}/flat.onnx is not served: models go in ${dir}/<name>/<version>/model.onnx (or model.gguf); move it to ${dir}/flat/1/model.onnx`,
        `${dir}/noversion/model.onnx is not served: a model needs a version folder, ${dir}/noversion/1/model.onnx`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an upstream that is not an http(s) URL, naming the field', () => {
    assert.throws(() => resolveModels(loadConfig({ flags: { upstream: ['x=ftp://a'] } })), { code: ErrorCode.InvalidConfig, field: 'upstream[0]' });
    assert.throws(() => loadConfig({ flags: { upstream: ['nourl'] } }), /NAME=URL/);
    assert.throws(() => loadConfig({ flags: { 'llm-parallel': '0' } }), { field: 'llmParallel' });
  });
});
