// End to end over a Triton-style model repository of generated ONNX models: versions, every
// datatype as JSON and binary, several inputs and outputs, the repository extension, admission
// control and the memory budget.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { binaryInferRequest, readBinaryResponse } from './kit/binary.js';
import { AFFINE_B, AFFINE_B_V2, AFFINE_W, BIG_ADDENDS, SLOW_WIDTH, writeTestModels } from './kit/models.js';

function affine(x: number[], b: readonly number[]): number[] {
  return [0, 1, 2].map((j) => x.reduce((s, xi, i) => s + xi * AFFINE_W[i]![j]!, b[j]!));
}

/** JSON values and their little-endian binary form, per datatype, for shape [2, 4]. */
const SAMPLES: Record<string, { json: unknown[]; bytes: () => Uint8Array }> = {
  BOOL: { json: [true, false, true, true, false, false, true, false], bytes: () => new Uint8Array([1, 0, 1, 1, 0, 0, 1, 0]) },
  UINT8: { json: [0, 1, 2, 3, 250, 251, 254, 255], bytes: () => new Uint8Array([0, 1, 2, 3, 250, 251, 254, 255]) },
  UINT16: { json: [0, 1, 2, 3, 65530, 4, 5, 65535], bytes: () => u8(new Uint16Array([0, 1, 2, 3, 65530, 4, 5, 65535])) },
  UINT32: { json: [0, 1, 2, 3, 4294967295, 4, 5, 6], bytes: () => u8(new Uint32Array([0, 1, 2, 3, 4294967295, 4, 5, 6])) },
  UINT64: { json: [0, 1, 2, 3, 9007199254740991, 4, 5, 6], bytes: () => u8(new BigUint64Array([0n, 1n, 2n, 3n, 9007199254740991n, 4n, 5n, 6n])) },
  INT8: { json: [-128, -1, 0, 1, 127, 2, 3, 4], bytes: () => u8(new Int8Array([-128, -1, 0, 1, 127, 2, 3, 4])) },
  INT16: { json: [-32768, -1, 0, 1, 32767, 2, 3, 4], bytes: () => u8(new Int16Array([-32768, -1, 0, 1, 32767, 2, 3, 4])) },
  INT32: { json: [-2147483648, -1, 0, 1, 2147483647, 2, 3, 4], bytes: () => u8(new Int32Array([-2147483648, -1, 0, 1, 2147483647, 2, 3, 4])) },
  INT64: { json: [-9007199254740991, -1, 0, 1, 9007199254740991, 2, 3, 4], bytes: () => u8(new BigInt64Array([-9007199254740991n, -1n, 0n, 1n, 9007199254740991n, 2n, 3n, 4n])) },
  FP16: { json: [0, 1, -2, 0.5, 65504, -0.25, 3, 1024], bytes: () => u8(new Uint16Array([0x0000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0xb400, 0x4200, 0x6400])) },
  FP32: { json: [0, 1.5, -2.25, 3.125, 1e10, -0.0009765625, 7, 8], bytes: () => u8(new Float32Array([0, 1.5, -2.25, 3.125, 1e10, -0.0009765625, 7, 8])) },
  FP64: { json: [0, 1.1, -2.2, 3.3, 1e300, -1e-300, 7, 8], bytes: () => u8(new Float64Array([0, 1.1, -2.2, 3.3, 1e300, -1e-300, 7, 8])) },
  BYTES: {
    json: ['a', 'bc', '', 'héllo', 'x y', '0', 'long string', 'z'],
    bytes: () => {
      const enc = new TextEncoder();
      const parts = ['a', 'bc', '', 'héllo', 'x y', '0', 'long string', 'z'].map((s) => enc.encode(s));
      const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
      const view = new DataView(out.buffer);
      let o = 0;
      for (const p of parts) {
        view.setUint32(o, p.byteLength, true);
        out.set(p, o + 4);
        o += 4 + p.byteLength;
      }
      return out;
    },
  },
};

function u8(view: ArrayBufferView): Uint8Array<ArrayBuffer> {
  return new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset, view.byteLength);
}

describe('model repository node', () => {
  let dir: string;
  let weft: WeftProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-repo-'));
    await writeTestModels(dir);
    // 20 MB holds two of the three big_* models, declared 8 MB each (what loading one measures
    // varies from run to run), so loading the third evicts one.
    for (const name of Object.keys(BIG_ADDENDS)) writeFileSync(join(dir, name, 'config.json'), JSON.stringify({ memory: '8MB' }));
    weft = await startWeft(['--models', dir, '--memory-budget', '20MB']);
  });
  after(async () => {
    assert.equal(await weft.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the highest version unless a request names one', async () => {
    const x = [1, 2, 3, 4];
    const latest = await postJson(`${weft.url}/v2/models/affine/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] });
    assert.equal(latest.status, 200, JSON.stringify(latest.body));
    assert.equal(latest.body.model_version, '2');
    affine(x, AFFINE_B_V2).forEach((v, j) => assert.ok(Math.abs(latest.body.outputs[0].data[j] - v) < 1e-5));
    const v1 = await postJson(`${weft.url}/v2/models/affine/versions/1/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] });
    assert.equal(v1.body.model_version, '1');
    affine(x, AFFINE_B).forEach((v, j) => assert.ok(Math.abs(v1.body.outputs[0].data[j] - v) < 1e-5));
    const meta = await fetchJson(`${weft.url}/v2/models/affine`);
    assert.deepEqual(meta.body.versions, ['1', '2']);
    assert.equal((await fetchJson(`${weft.url}/v2/models/affine/versions/1/ready`)).status, 200);
  });

  for (const [datatype, sample] of Object.entries(SAMPLES)) {
    it(`round-trips ${datatype} as JSON and as binary`, async () => {
      const model = `identity_${datatype.toLowerCase()}`;
      const json = await postJson(`${weft.url}/v2/models/${model}/infer`, {
        inputs: [{ name: 'INPUT0', datatype, shape: [2, 4], data: sample.json }],
      });
      assert.equal(json.status, 200, JSON.stringify(json.body));
      assert.deepEqual(json.body.outputs, [{ name: 'OUTPUT0', datatype, shape: [2, 4], data: sample.json }]);

      const req = binaryInferRequest([{ name: 'INPUT0', datatype, shape: [2, 4], bytes: sample.bytes() }]);
      const res = await fetch(`${weft.url}/v2/models/${model}/infer`, { method: 'POST', headers: req.headers, body: req.body });
      assert.equal(res.status, 200, await res.clone().text());
      const { outputs } = await readBinaryResponse(res);
      assert.equal(outputs[0]!.datatype, datatype);
      assert.deepEqual(outputs[0]!.shape, [2, 4]);
      assert.deepEqual(outputs[0]!.bytes, sample.bytes());
    });
  }

  it('runs a model with two inputs and returns only the outputs asked for', async () => {
    const inputs = [
      { name: 'a', datatype: 'INT32', shape: [2, 2], data: [1, 2, 3, 4] },
      { name: 'b', datatype: 'INT32', shape: [2, 2], data: [10, 20, 30, 40] },
    ];
    const all = await postJson(`${weft.url}/v2/models/sum_two/infer`, { inputs });
    assert.equal(all.status, 200);
    const byName = Object.fromEntries(all.body.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]));
    assert.deepEqual(byName, { sum: [11, 22, 33, 44], diff: [-9, -18, -27, -36] });
    const one = await postJson(`${weft.url}/v2/models/sum_two/infer`, { inputs, outputs: [{ name: 'diff' }] });
    assert.deepEqual(one.body.outputs.map((o: { name: string }) => o.name), ['diff']);
    const missing = await postJson(`${weft.url}/v2/models/sum_two/infer`, { inputs: [inputs[0]] });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'MISSING_INPUT');
  });

  it('checks fixed dimensions of models without a batch dimension', async () => {
    const ok = await postJson(`${weft.url}/v2/models/fixed_shape/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [-1, 0, 2] }] });
    assert.deepEqual(ok.body.outputs[0].data, [0, 0, 2]);
    const bad = await postJson(`${weft.url}/v2/models/fixed_shape/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'INVALID_SHAPE');
  });

  it('lists, unloads and loads models through the repository extension', async () => {
    const x = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] };
    assert.equal((await postJson(`${weft.url}/v2/models/affine/infer`, x)).status, 200);
    const index = await postJson(`${weft.url}/v2/repository/index`, {});
    const entry = index.body.find((e: { name: string; version: string }) => e.name === 'affine' && e.version === '2');
    assert.equal(entry.state, 'READY');

    assert.equal((await postJson(`${weft.url}/v2/repository/models/affine/unload`, {})).status, 200);
    const refused = await postJson(`${weft.url}/v2/models/affine/infer`, x);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'MODEL_UNAVAILABLE');
    assert.match(refused.body.error, /repository\/models\/affine\/load/);
    assert.equal((await fetchJson(`${weft.url}/v2/models/affine/ready`)).status, 503);
    const after = await postJson(`${weft.url}/v2/repository/index`, {});
    const unloaded = after.body.find((e: { name: string; version: string }) => e.name === 'affine' && e.version === '2');
    assert.equal(unloaded.state, 'UNAVAILABLE');
    assert.equal(unloaded.reason, 'unloaded');

    assert.equal((await postJson(`${weft.url}/v2/repository/models/affine/load`, {})).status, 200);
    assert.equal((await postJson(`${weft.url}/v2/models/affine/infer`, x)).status, 200);
    // The index's optional body is read as every other JSON body: a clear 400, nesting bounded.
    const bad = await fetch(`${weft.url}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ready": tru' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_JSON');
    const deep = await fetch(`${weft.url}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '['.repeat(5000) });
    assert.equal(((await deep.json()) as { code: string }).code, 'JSON_TOO_DEEP');
    assert.equal((await fetch(`${weft.url}/v2/repository/index`, { method: 'POST' })).status, 200, 'an empty body lists every model');
    const readyOnly = await postJson(`${weft.url}/v2/repository/index`, { ready: true });
    assert.ok(readyOnly.body.every((e: { state: string }) => e.state === 'READY'));
    assert.equal((await postJson(`${weft.url}/v2/repository/models/nope/load`, {})).status, 404);
  });

  it('answers a full queue with 429 and Retry-After at once, and serves what it queued', async () => {
    // slow/config.json: queue of 2; batches of 4 rows, or fewer after waiting 2 s for company.
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], data: new Array(SLOW_WIDTH).fill(1) }] });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetchJson(`${weft.url}/v2/models/slow/infer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }),
      ),
    );
    const statuses = JSON.stringify(results.map((r) => r.status));
    const full = results.filter((r) => r.status === 429);
    const served = results.filter((r) => r.status === 200);
    assert.equal(served.length, 2, statuses);
    assert.equal(full.length, 8, statuses);
    for (const r of served) assert.equal(r.body.parameters.batch_size, 2);
    for (const r of full) {
      assert.equal(r.body.code, 'QUEUE_FULL');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
  });

  it('evicts the least recently used idle model when the memory budget is reached', async () => {
    const states = async () => {
      const index = await postJson(`${weft.url}/v2/repository/index`, {});
      return Object.fromEntries(
        index.body.filter((e: { name: string }) => e.name.startsWith('big_')).map((e: { name: string; state: string }) => [e.name, e.state]),
      );
    };
    const call = async (model: keyof typeof BIG_ADDENDS) => {
      const req = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 2_000_000], bytes: u8(new Float32Array(2_000_000)) }]);
      const res = await fetch(`${weft.url}/v2/models/${model}/infer`, { method: 'POST', headers: req.headers, body: req.body });
      assert.equal(res.status, 200, await res.clone().text());
      const { outputs } = await readBinaryResponse(res);
      assert.equal(new Float32Array(outputs[0]!.bytes!.buffer)[0], BIG_ADDENDS[model]);
    };
    await call('big_a');
    await call('big_b');
    assert.deepEqual(await states(), { big_a: 'READY', big_b: 'READY', big_c: 'UNAVAILABLE' });
    await call('big_c');
    assert.deepEqual(await states(), { big_a: 'UNAVAILABLE', big_b: 'READY', big_c: 'READY' });
    await call('big_a');
    assert.deepEqual(await states(), { big_a: 'READY', big_b: 'UNAVAILABLE', big_c: 'READY' });
  });

  it('measures what a model takes at load, beside the figure it is counted for', async () => {
    // Loaded now: the tests before may have had it evicted (20 MB holds two big models and it).
    assert.equal((await postJson(`${weft.url}/v2/repository/models/slow/load`, {})).status, 200);
    const text = await (await fetch(`${weft.url}/metrics`)).text();
    const sample = (name: string, model: string) => Number(new RegExp(`^${name}\\{model="${model}",device="cpu"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    // Declared in its config.json: counted as declared. Measured: ONNX Runtime holds the 8 MB
    // addend at least once.
    assert.equal(sample('weft_model_memory_bytes', 'big_a'), 8_000_000, text);
    assert.ok(sample('weft_model_memory_measured_bytes', 'big_a') > 4_000_000, `measured ${sample('weft_model_memory_measured_bytes', 'big_a')}`);
    // Nothing declared: the larger of the file's size and what its load measured, a measure
    // under 1 MiB being the allocator's step rather than the model.
    const slowFile = statSync(join(dir, 'slow', '1', 'model.onnx')).size;
    const slowMeasured = sample('weft_model_memory_measured_bytes', 'slow');
    assert.equal(sample('weft_model_memory_bytes', 'slow'), slowMeasured >= 2 ** 20 ? Math.max(slowFile, slowMeasured) : slowFile, text);
    assert.match(weft.logs(), /model loaded model=big_a .*countedBytes=\d+ measuredBytes=\d+/);
  });
});

describe('model metadata and readiness without loading', () => {
  let dir: string;
  let weft: WeftProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-repo-lazy-'));
    await writeTestModels(dir);
    // 1 MB: the small models fit, the ~8 MB big_* models never can.
    weft = await startWeft(['--models', dir, '--memory-budget', '1MB']);
  });
  after(async () => {
    assert.equal(await weft?.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  const state = async (name: string, version: string) => {
    const index = await postJson(`${weft.url}/v2/repository/index`, {});
    return index.body.find((e: { name: string; version: string }) => e.name === name && e.version === version);
  };

  it('describes a lazy model and all its versions from the file, loading nothing', async () => {
    const meta = await fetchJson(`${weft.url}/v2/models/affine`);
    assert.equal(meta.status, 200, JSON.stringify(meta.body));
    assert.deepEqual(meta.body.versions, ['1', '2']);
    assert.deepEqual(meta.body.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    assert.equal((await fetchJson(`${weft.url}/v2/models/affine/versions/1`)).status, 200);
    for (const version of ['1', '2']) assert.equal((await state('affine', version)).reason, 'not loaded; loads on first request');
    // What the file says is what the loaded model says.
    assert.equal((await postJson(`${weft.url}/v2/models/affine/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] })).status, 200);
    assert.deepEqual((await fetchJson(`${weft.url}/v2/models/affine`)).body, meta.body);
  });

  it('reports a model that can never fit the memory budget as not ready, saying why', async () => {
    const ready = await fetchJson(`${weft.url}/v2/models/big_a/ready`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.ready, false);
    assert.match(ready.body.reason, /needs 7\.6 MiB \(its file size\) but the cpu memory budget is 976\.6 KiB \(--memory-budget\)/);
    const entry = await state('big_a', '1');
    assert.equal(entry.state, 'UNAVAILABLE');
    assert.equal(entry.reason, ready.body.reason);
    const infer = await postJson(`${weft.url}/v2/models/big_a/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [0] }] });
    assert.equal(infer.status, 503);
    assert.equal(infer.body.code, 'MEMORY_BUDGET_EXCEEDED');
    assert.match(infer.body.error, /model 'big_a' can never load here: it needs 7\.6 MiB/);
    // Its metadata still answers: it comes from the file.
    assert.equal((await fetchJson(`${weft.url}/v2/models/big_a`)).status, 200);
    assert.equal((await fetchJson(`${weft.url}/v2/models/affine/ready`)).status, 200);
  });
});

describe('a repository a newcomer gets wrong', () => {
  it('warns about a flat model file, and does not report a PNG as a ready model, nor load it for its metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-repo-wrong-'));
    let weft: WeftProcess | undefined;
    try {
      // Generated under a hidden folder, which the repository scan skips.
      await writeTestModels(join(dir, '.generated'));
      copyFileSync(join(dir, '.generated', 'affine', '1', 'model.onnx'), join(dir, 'flat.onnx'));
      mkdirSync(join(dir, 'picture', '1'), { recursive: true });
      writeFileSync(join(dir, 'picture', '1', 'model.onnx'), Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'));
      weft = await startWeft(['--models', dir]);
      assert.match(weft.logs(), new RegExp(`${dir}/flat\\.onnx is not served: models go in ${dir}/<name>/<version>/model\\.onnx`));
      assert.match(weft.logs(), /model file is not a model .*model=picture/);
      const ready = await fetchJson(`${weft.url}/v2/models/picture/ready`);
      assert.equal(ready.status, 503);
      assert.match(ready.body.reason, /picture\/1\/model\.onnx is not a model this node can read/);
      // Its metadata says why without trying to load it: the index keeps the reason.
      const metadata = await fetchJson(`${weft.url}/v2/models/picture`);
      assert.deepEqual([metadata.status, metadata.body.code], [503, 'MODEL_UNAVAILABLE']);
      assert.match(metadata.body.error, /is not a model this node can read/);
      const index = await postJson(`${weft.url}/v2/repository/index`, {});
      const entry = index.body.find((e: { name: string }) => e.name === 'picture');
      assert.equal(entry.state, 'UNAVAILABLE');
      assert.match(entry.reason, /is not a model this node can read/);
      // A call still tries to load it (the file may have been replaced), and says why it failed.
      const infer = await postJson(`${weft.url}/v2/models/picture/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [0] }] });
      assert.deepEqual([infer.status, infer.body.code], [500, 'MODEL_LOAD_FAILED']);
    } finally {
      await weft?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
