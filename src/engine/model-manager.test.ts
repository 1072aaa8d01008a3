// Model lifecycle against real ONNX Runtime sessions of generated models: lazy load, keep_alive,
// explicit unload and load, LRU eviction within the memory budget, and the errors around them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTestModels } from '../../test/kit/models.js';
import { OnnxBackend, type Backend, type Tensor } from '../backends/index.js';
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

  function manager(flags: Record<string, string>, budget = 1e9, backend: Backend = new OnnxBackend({ warn: () => {} })): ModelManager {
    const config = loadConfig({ flags: { models: dir, ...flags } });
    return new ModelManager(scanRepository(dir, config), {
      backend,
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
    // Declared sizes (each file is 8 MB): what the loads measure would vary from run to run.
    for (const name of ['big_a', 'big_b', 'big_c']) writeFileSync(join(dir, name, 'config.json'), JSON.stringify({ memory: '8MB' }));
    const m = manager({}, 20e6);
    const big = (name: string) =>
      m.infer(name, undefined, { inputs: { x: { datatype: 'FP32', shape: [1, 2_000_000], data: new Float32Array(2_000_000) } }, outputs: [] });
    await big('big_a');
    await big('big_b');
    await big('big_a');
    await big('big_c');
    assert.deepEqual(['big_a', 'big_b', 'big_c'].map((n) => state(m, n)), ['ready', 'unloaded', 'ready']);
    await m.shutdown();
    for (const name of ['big_a', 'big_b', 'big_c']) rmSync(join(dir, name, 'config.json'));
  });

  it('counts what a load measured when it is more than the file, and makes room for it', async () => {
    // Real sessions; only the figure the backend measured is scripted, as the hardware would report it.
    const onnx = new OnnxBackend({ warn: () => {} });
    const measured = new Map([['identity_int32', 3_000_000], ['identity_fp32', 500_000]]);
    const backend: Backend = {
      platform: onnx.platform,
      describe: (path) => onnx.describe(path),
      load: async (path, options) => {
        const loaded = await onnx.load(path, options);
        const name = [...measured.keys()].find((n) => path.includes(`/${n}/`));
        return { signature: loaded.signature, device: loaded.device, measuredBytes: name === undefined ? undefined : measured.get(name), run: (i, o) => loaded.run(i, o), dispose: () => loaded.dispose() };
      },
    };
    const m = manager({}, 4_000_000, backend);
    const bytes = (name: string) => m.status().find((s) => s.name === name && s.state === 'ready')?.memoryBytes;
    const ints = { INPUT0: { datatype: 'INT32' as const, shape: [1, 4], data: new Int32Array(4) } };
    const floats = { INPUT0: { datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) } };
    await m.infer('identity_fp32', undefined, { inputs: floats, outputs: [] });
    assert.equal(bytes('identity_fp32'), 150, 'a measure under 1 MiB is the allocator, not the model: the file size counts');
    await m.infer('identity_int32', undefined, { inputs: ints, outputs: [] });
    assert.equal(bytes('identity_int32'), 3_000_000, 'the measure, not the 151 B file');
    assert.equal(m.memory()[0]!.usedBytes, 3_000_150);
    // Once measured, the next load counts it up front: the other model goes for it to fit.
    measured.set('identity_int32', 3_999_900);
    await m.unload('identity_int32');
    await m.load('identity_int32');
    assert.equal(bytes('identity_int32'), 3_999_900);
    assert.ok(['unloading', 'unloaded'].includes(state(m, 'identity_fp32')), 'evicted to make room for what the other takes');
    assert.equal(m.memory()[0]!.usedBytes, 3_999_900);
    // A later load that measures less gives the difference back.
    measured.set('identity_int32', 2_000_000);
    await m.unload('identity_int32');
    await m.load('identity_int32');
    assert.equal(bytes('identity_int32'), 2_000_000);
    assert.equal(m.memory()[0]!.usedBytes, 2_000_000);
    // A measure that can never fit says so, and where the figure comes from.
    measured.set('identity_int32', 5_000_000);
    await m.unload('identity_int32');
    await m.load('identity_int32');
    await m.unload('identity_int32');
    await assert.rejects(m.load('identity_int32'), (e: { code?: string; message?: string }) => e.code === ErrorCode.MemoryBudgetExceeded && /needs 4\.8 MiB \(measured when it last loaded\)/.test(e.message ?? ''));
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
