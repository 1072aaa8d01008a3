// End to end: `weft serve` with no model flags serves the embedded PaddleOCR models over KServe
// v2, as JSON and as binary tensors, batches concurrent requests, and answers bad input with
// clear 4xx errors while other requests keep succeeding.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { binaryInferRequest, bytesToFloat32, float32Bytes, readBinaryResponse } from './kit/binary.js';

const REC_SHAPE = [1, 3, 48, 320];
const REC_SIZE = 3 * 48 * 320;

/** A deterministic image-like input (values in [-1, 1] like PaddleOCR's normalisation). */
function recInput(seed: number): Float32Array {
  const out = new Float32Array(REC_SIZE);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return out;
}

function assertDistributionRows(data: ArrayLike<number>, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const p = data[r * cols + c]!;
      assert.ok(p >= 0 && p <= 1, `probability out of range: ${p}`);
      sum += p;
    }
    assert.ok(Math.abs(sum - 1) < 1e-3, `row ${r} sums to ${sum}`);
  }
}

async function inferBinary(url: string, input: Float32Array, shape = REC_SHAPE) {
  const req = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape, bytes: float32Bytes(input) }]);
  const res = await fetch(`${url}/v2/models/ppocr-rec/infer`, { method: 'POST', headers: req.headers, body: req.body });
  assert.equal(res.status, 200, await res.clone().text());
  const { header, outputs } = await readBinaryResponse(res);
  return { header, output: outputs[0]!, values: bytesToFloat32(outputs[0]!.bytes!) };
}

describe('embedded default node', () => {
  let weft: WeftProcess;
  before(async () => {
    weft = await startWeft(['--max-body-size', '2MiB']);
  });
  after(async () => {
    assert.equal(await weft.stop(), 0);
  });

  it('reports server metadata, liveness and readiness', async () => {
    const meta = await fetchJson(`${weft.url}/v2`);
    assert.equal(meta.status, 200);
    assert.equal(meta.body.name, 'weft');
    assert.ok(meta.body.extensions.includes('binary_tensor_data'));
    assert.equal((await fetchJson(`${weft.url}/v2/health/live`)).status, 200);
    assert.equal((await fetchJson(`${weft.url}/v2/health/ready`)).status, 200);
    for (const name of ['ppocr-det', 'ppocr-rec', 'ppocr-cls']) {
      assert.equal((await fetchJson(`${weft.url}/v2/models/${name}/ready`)).status, 200, name);
    }
  });

  it('describes ppocr-rec with its real signature', async () => {
    const { status, body } = await fetchJson(`${weft.url}/v2/models/ppocr-rec`);
    assert.equal(status, 200);
    assert.equal(body.platform, 'onnxruntime_onnx');
    assert.deepEqual(body.versions, ['1']);
    assert.deepEqual(body.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }]);
    assert.equal(body.outputs[0].datatype, 'FP32');
    assert.deepEqual(body.outputs[0].shape, [-1, -1, 6625]);
  });

  it('infers ppocr-rec over JSON and over binary tensors with the same result', async () => {
    const input = recInput(1);
    const json = await postJson(`${weft.url}/v2/models/ppocr-rec/infer`, {
      id: 'req-1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: REC_SHAPE, data: Array.from(input) }],
    });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.model_name, 'ppocr-rec');
    assert.equal(json.body.model_version, '1');
    assert.equal(json.body.id, 'req-1');
    const out = json.body.outputs[0];
    assert.deepEqual(out.shape, [1, 40, 6625]);
    assert.equal(out.data.length, 40 * 6625);
    assertDistributionRows(out.data, 40, 6625);

    const binary = await inferBinary(weft.url, input);
    assert.deepEqual(binary.output.shape, [1, 40, 6625]);
    assert.equal(binary.values.length, 40 * 6625);
    // JSON numbers round-trip float32 values exactly.
    assert.deepEqual(Array.from(binary.values), Array.from(new Float32Array(out.data)));
  });

  it('batches concurrent requests and gives each the result it gets alone', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => recInput(100 + i));
    const alone: Array<Awaited<ReturnType<typeof inferBinary>>> = [];
    for (const input of inputs) alone.push(await inferBinary(weft.url, input));
    for (const r of alone) assert.equal(r.header.parameters.batch_size, 1);

    let batched = false;
    for (let attempt = 0; attempt < 5 && !batched; attempt++) {
      const together = await Promise.all(inputs.map((input) => inferBinary(weft.url, input)));
      together.forEach((r, i) => {
        assert.deepEqual(r.output.shape, [1, 40, 6625]);
        const expected = alone[i]!.values;
        for (let k = 0; k < expected.length; k++) {
          assert.ok(Math.abs(r.values[k]! - expected[k]!) <= 1e-5, `request ${i} element ${k}: ${r.values[k]} vs ${expected[k]}`);
        }
      });
      batched = together.some((r) => r.header.parameters.batch_size > 1);
    }
    assert.ok(batched, 'no response reports a batch of more than one request');
  });

  it('answers each bad input with a clear 4xx while other requests keep succeeding', async () => {
    let stop = false;
    let served = 0;
    const load = (async () => {
      while (!stop) {
        await inferBinary(weft.url, recInput(served));
        served++;
      }
    })();

    const infer = (model: string) => `${weft.url}/v2/models/${model}/infer`;
    const ok = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 8], data: new Array(3 * 48 * 8).fill(0) };
    const cases: Array<{ what: string; url: string; body: unknown; status: number; code: string; field?: string }> = [
      { what: 'wrong tensor name', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, name: 'image' }] }, status: 400, code: 'UNKNOWN_INPUT', field: 'inputs[0].name' },
      { what: 'wrong datatype', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, datatype: 'INT32' }] }, status: 400, code: 'INVALID_DATATYPE', field: 'inputs[0].datatype' },
      { what: 'unknown datatype', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, datatype: 'FLOAT' }] }, status: 400, code: 'INVALID_DATATYPE', field: 'inputs[0].datatype' },
      { what: 'wrong shape', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, shape: [1, 3, 32, 8], data: new Array(3 * 32 * 8).fill(0) }] }, status: 400, code: 'INVALID_SHAPE', field: 'inputs[0].shape' },
      { what: 'wrong rank', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, shape: [3, 48, 8], data: new Array(3 * 48 * 8).fill(0) }] }, status: 400, code: 'INVALID_SHAPE', field: 'inputs[0].shape' },
      { what: 'data length not matching the shape', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, data: [1, 2, 3] }] }, status: 400, code: 'DATA_SIZE_MISMATCH', field: 'inputs[0].data' },
      { what: 'a string in FP32 data', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, shape: [1, 3, 48, 1], data: ['a', ...new Array(143).fill(0)] }] }, status: 400, code: 'INVALID_TENSOR', field: 'inputs[0].data' },
      { what: 'malformed JSON', url: infer('ppocr-rec'), body: '{"inputs": [', status: 400, code: 'INVALID_JSON' },
      { what: 'no inputs', url: infer('ppocr-rec'), body: { inputs: [] }, status: 400, code: 'BAD_REQUEST', field: 'inputs' },
      { what: 'unknown output', url: infer('ppocr-rec'), body: { inputs: [ok], outputs: [{ name: 'nope' }] }, status: 400, code: 'UNKNOWN_OUTPUT', field: 'outputs[0].name' },
      { what: 'unknown model', url: infer('no-such-model'), body: { inputs: [ok] }, status: 404, code: 'MODEL_NOT_FOUND' },
      { what: 'unknown version', url: `${weft.url}/v2/models/ppocr-rec/versions/7/infer`, body: { inputs: [ok] }, status: 404, code: 'VERSION_NOT_FOUND', field: 'model_version' },
      { what: 'a priority out of range', url: infer('ppocr-rec'), body: { inputs: [ok], parameters: { priority: 9 } }, status: 400, code: 'BAD_REQUEST', field: 'parameters.priority' },
      { what: 'a body over the limit', url: infer('ppocr-rec'), body: { inputs: [{ ...ok, data: new Array(600_000).fill(0.5) }] }, status: 413, code: 'BODY_TOO_LARGE' },
    ];
    for (const c of cases) {
      const res = await postJson(c.url, c.body);
      assert.equal(res.status, c.status, `${c.what}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error, 'string', c.what);
      assert.ok(res.body.error.length > 10, `${c.what}: message '${res.body.error}'`);
      assert.equal(res.body.code, c.code, `${c.what}: ${JSON.stringify(res.body)}`);
      if (c.field !== undefined) assert.equal(res.body.field, c.field, `${c.what}: ${JSON.stringify(res.body)}`);
    }
    const mismatch = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 8], bytes: new Uint8Array(100) }]);
    const res = await fetchJson(infer('ppocr-rec'), { method: 'POST', headers: mismatch.headers, body: mismatch.body });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'DATA_SIZE_MISMATCH');

    stop = true;
    await load;
    assert.ok(served > 0, 'the concurrent load completed no request');
    assert.equal((await fetchJson(`${weft.url}/v2/health/ready`)).status, 200);
  });

  it('answers unknown routes with a 404 in the error shape', async () => {
    const res = await fetchJson(`${weft.url}/v3/nothing`);
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ROUTE_NOT_FOUND');
  });

  it('answers a wrong method on a KServe path, or any other known path, with 405 and the methods it accepts', async () => {
    for (const [method, path, allow] of [
      ['GET', '/v2/models/ppocr-rec/infer', 'POST'],
      ['PUT', '/v2/models/ppocr-rec/versions/1/infer', 'POST'],
      ['POST', '/v2/models/ppocr-rec', 'GET, HEAD'],
      ['DELETE', '/v2/models/ppocr-rec/ready', 'GET, HEAD'],
      ['POST', '/v2/health/ready', 'GET, HEAD'],
      ['GET', '/v2/repository/index', 'POST'],
      ['GET', '/v2/repository/models/ppocr-rec/unload', 'POST'],
      // The node's other paths alike.
      ['POST', '/metrics', 'GET, HEAD'],
      ['POST', '/admin/stats', 'GET, HEAD'],
      ['PUT', '/admin/apps', 'GET, HEAD, POST'],
    ] as const) {
      const res = await fetchJson(`${weft.url}${path}`, { method });
      assert.equal(res.status, 405, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
    }
    // The right method still answers, and HEAD follows GET.
    assert.equal((await fetch(`${weft.url}/v2/models/ppocr-rec/ready`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetchJson(`${weft.url}/v2/models/nothing/infer`, { method: 'GET' })).status, 405);
  });
});
