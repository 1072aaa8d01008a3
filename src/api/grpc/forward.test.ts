import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, WeftError } from '../../errors.js';
import { decodeInferRequest } from '../kserve/decode.js';
import { encodeInferResponse } from '../kserve/encode.js';
import { errorResponse } from '../http-errors.js';
import type { DecodedModelInfer } from './codec.js';
import { inferRequestOverHttp, modelInferFromHttp } from './forward.js';

const call: DecodedModelInfer = {
  model: 'm',
  version: '2',
  id: 'req-1',
  inputs: [
    { name: 'x', tensor: { datatype: 'FP32', shape: [1, 3], data: new Float32Array([1.5, -2, 3e-8]) } },
    { name: 'ids', tensor: { datatype: 'INT64', shape: [2], data: new BigInt64Array([2n ** 60n, -1n]) } },
    { name: 'text', tensor: { datatype: 'BYTES', shape: [2], data: [new TextEncoder().encode('héllo'), new Uint8Array(0)] } },
  ],
  outputs: ['y'],
  priority: 1,
  timeoutUs: 5000,
  rawOutput: true,
};

test('a ModelInfer call becomes the binary KServe request the server decodes to the same tensors', async () => {
  const request = inferRequestOverHttp(call, { authorization: 'Bearer k', caller: { name: 'x-caller', value: 'team' }, deadline: 1234 });
  assert.equal(new URL(request.url).pathname, '/v2/models/m/versions/2/infer');
  assert.equal(request.headers.get('authorization'), 'Bearer k');
  assert.equal(request.headers.get('x-caller'), 'team');
  assert.equal(request.headers.get('x-weft-deadline'), '1234');
  const decoded = decodeInferRequest(new Uint8Array(await request.arrayBuffer()), Number(request.headers.get('inference-header-content-length')));
  assert.equal(decoded.id, 'req-1');
  assert.deepEqual(decoded.parameters, { priority: 1, timeout: 5000 });
  assert.equal(decoded.binaryOutputDefault, true);
  assert.deepEqual(decoded.outputs.map((o) => [o.name, o.binary]), [['y', true]]);
  assert.deepEqual(decoded.inputs.map((i) => i.name), ['x', 'ids', 'text']);
  assert.deepEqual([...(decoded.inputs[0]!.tensor.data as Float32Array)], [1.5, -2, Math.fround(3e-8)]);
  assert.deepEqual([...(decoded.inputs[1]!.tensor.data as BigInt64Array)], [2n ** 60n, -1n], 'INT64 beyond 2^53 crosses exactly');
  assert.deepEqual((decoded.inputs[2]!.tensor.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)), ['héllo', '']);
});

test('the serving node\'s answer becomes the ModelInfer response; its error keeps code, field and Retry-After', async () => {
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '2',
    id: 'req-1',
    parameters: { batch_size: 3, batch_requests: 2 },
    outputs: [{ name: 'y', tensor: { datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, binary: true }],
  });
  const ok = new Response(encoded.body, { headers: { 'content-type': encoded.contentType, 'inference-header-content-length': String(encoded.headerLength) } });
  const reply = await modelInferFromHttp(ok, call);
  assert.equal(reply.model_name, 'm');
  assert.equal(reply.model_version, '2');
  assert.equal(reply.id, 'req-1');
  assert.equal(reply.parameters.batch_size?.int64_param, 3);
  assert.deepEqual(reply.outputs, [{ name: 'y', datatype: 'FP16', shape: [2] }]);
  assert.deepEqual([...new Uint16Array(new Uint8Array(reply.raw_output_contents[0]!).slice().buffer)], [0x3c00, 0xc000]);

  const err = new WeftError(ErrorCode.QueueFull, 'queue of model m is full', { retryAfterSeconds: 2 });
  const asHttp = (e: WeftError) => {
    const { status, body, headers } = errorResponse(e);
    return new Response(JSON.stringify(body), { status, headers });
  };
  const refused = asHttp(err);
  await assert.rejects(modelInferFromHttp(refused, call), { code: ErrorCode.QueueFull, message: 'queue of model m is full', retryAfterSeconds: 2 });
  const field = new WeftError(ErrorCode.UnknownInput, "unknown input 'nope'", { field: 'inputs[0].name' });
  await assert.rejects(modelInferFromHttp(asHttp(field), call), { code: ErrorCode.UnknownInput, field: 'inputs[0].name' });
  await assert.rejects(modelInferFromHttp(new Response('<html>bad gateway</html>', { status: 502, headers: { 'x-weft-node': 'b' } }), call), { code: ErrorCode.UpstreamError, message: 'b answered HTTP 502' });
});
