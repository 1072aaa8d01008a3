// Model lifecycle against real ONNX Runtime sessions of generated models: lazy load, keep_alive,
// explicit unload and load, LRU eviction within the memory budget, and the errors around them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTestModels } from '../../test/kit/models.js';
import { OnnxBackend, type Tensor } from '../backends/index.js';
import { loadConfig } from '../config/index.js';
import { ErrorCode } from '../errors.js';
import { ModelManager } from './model-manager.js';
import { scanRepository } from './repository.js';

const quiet = { info: () => {}, warn: () => {} };
const x: Record<string, Tensor> = { x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } };

function state(manager: ModelManager, name: string, version?: number) {
  return manager.status().find((s) => s.name === name && (version === undefined || s.version === version))!.state;
}

describe('ModelManager', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-mm-'));
    await writeTestModels(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function manager(flags: Record<string, string>, budget = 1e9): ModelManager {
    const config = loadConfig({ flags: { models: dir, ...flags } });
    return new ModelManager(scanRepository(dir, config), {
      backend: new OnnxBackend({ warn: () => {} }),
      memoryBudget: { cpu: budget, cuda: budget },
      log: quiet,
    });
  }

  it('loads on first use, serves the latest version, and unloads after keep_alive', async () => {
    const m = manager({ 'keep-alive': '50ms' });
    assert.equal(state(m, 'affine', 2), 'unloaded');
    const result = await m.infer('affine', undefined, { inputs: x, outputs: [] });
    assert.equal(result.version, 2);
    assert.deepEqual(result.outputs.y!.shape, [1, 3]);
    assert.equal(state(m, 'affine', 2), 'ready');
    while (state(m, 'affine', 2) !== 'unloaded') await sleep(10);
    assert.equal((await m.infer('affine', 2, { inputs: x, outputs: [] })).version, 2, 'reloads after keep_alive');
    await m.shutdown();
  });

  it('refuses an explicitly unloaded model until it is loaded again, finishing in-flight work first', async () => {
    const m = manager({});
    const fullBatch = { x: { datatype: 'FP32' as const, shape: [4, 256], data: new Float32Array(4 * 256).fill(1) } };
    const inflight = m.infer('slow', undefined, { inputs: fullBatch, outputs: [] });
    const unloading = m.unload('slow');
    assert.equal((await inflight).outputs.y!.shape[1], 256);
    await unloading;
    assert.equal(state(m, 'slow'), 'unavailable');
    assert.equal(m.readiness('slow').ready, false);
    await assert.rejects(m.infer('slow', undefined, { inputs: x, outputs: [] }), { code: ErrorCode.ModelUnavailable });
    await m.load('slow');
    assert.equal(state(m, 'slow'), 'ready');
    await m.shutdown();
  });

  it('evicts idle models least recently used first to stay within the budget', async () => {
    const m = manager({}, 20e6);
    const big = (name: string) =>
      m.infer(name, undefined, { inputs: { x: { datatype: 'FP32', shape: [1, 2_000_000], data: new Float32Array(2_000_000) } }, outputs: [] });
    await big('big_a');
    await big('big_b');
    await big('big_a');
    await big('big_c');
    assert.deepEqual(['big_a', 'big_b', 'big_c'].map((n) => state(m, n)), ['ready', 'unloaded', 'ready']);
    await m.shutdown();
  });

  it('says when a model can never fit the budget, and names unknown models and versions', async () => {
    const m = manager({}, 1e6);
    await assert.rejects(m.infer('big_a', undefined, { inputs: x, outputs: [] }), { code: ErrorCode.MemoryBudgetExceeded });
    await assert.rejects(m.infer('nope', undefined, { inputs: x, outputs: [] }), { code: ErrorCode.ModelNotFound });
    await assert.rejects(m.infer('affine', 9, { inputs: x, outputs: [] }), { code: ErrorCode.VersionNotFound, field: 'model_version' });
    await assert.rejects(m.infer('affine', 1, { inputs: x, outputs: [], priority: 3 }), { code: ErrorCode.BadRequest, field: 'parameters.priority' });
    await m.shutdown();
  });

  it('adds and removes models at run time', async () => {
    const m = manager({});
    const [affine] = scanRepository(dir, loadConfig({ flags: { models: dir } })).filter((d) => d.name === 'affine');
    assert.throws(() => m.add([affine!]), { code: ErrorCode.InvalidConfig });
    m.add([{ ...affine!, name: 'affine-copy' }]);
    assert.equal((await m.infer('affine-copy', 1, { inputs: x, outputs: [] })).version, 1);
    await m.remove(['affine-copy']);
    assert.ok(!m.names().includes('affine-copy'));
    await assert.rejects(m.infer('affine-copy', 1, { inputs: x, outputs: [] }), { code: ErrorCode.ModelNotFound });
    await m.shutdown();
  });
});
