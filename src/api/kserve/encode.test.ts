// Tests for encoding KServe v2 inference responses: JSON and binary outputs of every datatype,
// NaN handling, backend storage checks, and a binary round trip through the request decoder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../../errors.js';
import type { Datatype, Tensor, TensorData } from '../../backends/index.js';
import { decodeInferRequest } from './decode.js';
import { encodeInferResponse } from './encode.js';
import type { InferResponse } from './wire.js';

const utf8 = new TextEncoder();

const samples: { datatype: Datatype; data: TensorData; json: unknown[] }[] = [
  { datatype: 'BOOL', data: Uint8Array.of(1, 0), json: [true, false] },
  { datatype: 'UINT8', data: Uint8Array.of(0, 255), json: [0, 255] },
  { datatype: 'UINT16', data: Uint16Array.of(7, 65535), json: [7, 65535] },
  { datatype: 'UINT32', data: Uint32Array.of(7, 4294967295), json: [7, 4294967295] },
  { datatype: 'UINT64', data: BigUint64Array.of(7n, 18446744073709551615n), json: [7, '18446744073709551615'] },
  { datatype: 'INT8', data: Int8Array.of(-128, 127), json: [-128, 127] },
  { datatype: 'INT16', data: Int16Array.of(-32768, 32767), json: [-32768, 32767] },
  { datatype: 'INT32', data: Int32Array.of(-2147483648, 2147483647), json: [-2147483648, 2147483647] },
  { datatype: 'INT64', data: BigInt64Array.of(-9007199254740991n, -9223372036854775808n), json: [-9007199254740991, '-9223372036854775808'] },
  { datatype: 'FP16', data: Uint16Array.of(0x3c00, 0x0001), json: [1, 2 ** -24] },
  { datatype: 'FP32', data: Float32Array.of(0.5, -3), json: [0.5, -3] },
  { datatype: 'FP64', data: Float64Array.of(0.1, 1e300), json: [0.1, 1e300] },
  { datatype: 'BYTES', data: [utf8.encode('héllo'), new Uint8Array(0)], json: ['héllo', ''] },
];

const tensorOf = (s: (typeof samples)[number]): Tensor => ({ datatype: s.datatype, shape: [1, 2], data: s.data });

/** Splits a binary response into its parsed JSON header and the bytes after it. */
function splitBinary(encoded: ReturnType<typeof encodeInferResponse>): { header: InferResponse; rest: Uint8Array } {
  assert.ok(encoded.body instanceof Uint8Array);
  assert.equal(encoded.contentType, 'application/octet-stream');
  assert.ok(encoded.headerLength !== undefined);
  const header = JSON.parse(new TextDecoder().decode(encoded.body.subarray(0, encoded.headerLength))) as InferResponse;
  return { header, rest: encoded.body.subarray(encoded.headerLength) };
}

test('JSON outputs of every datatype', () => {
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '3',
    id: 'req-9',
    parameters: { batch_size: 1 },
    outputs: samples.map((s, i) => ({ name: `out${i}`, tensor: tensorOf(s), binary: false })),
  });
  assert.equal(encoded.contentType, 'application/json');
  assert.equal(encoded.headerLength, undefined);
  assert.equal(typeof encoded.body, 'string');
  const response = JSON.parse(encoded.body as string) as InferResponse;
  assert.deepEqual(response, {
    model_name: 'm',
    model_version: '3',
    id: 'req-9',
    parameters: { batch_size: 1 },
    outputs: samples.map((s, i) => ({ name: `out${i}`, datatype: s.datatype, shape: [1, 2], data: s.json })),
  });
});

test('NaN and infinities become null in JSON; an empty version and no id are left out', () => {
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '',
    outputs: [
      { name: 'f', tensor: { datatype: 'FP32', shape: [4], data: Float32Array.of(NaN, Infinity, -Infinity, 1) }, binary: false },
      { name: 'h', tensor: { datatype: 'FP16', shape: [2], data: Uint16Array.of(0x7e00, 0xfc00) }, binary: false },
    ],
  });
  assert.equal(
    encoded.body,
    '{"model_name":"m","outputs":[{"name":"f","datatype":"FP32","shape":[4],"data":[null,null,null,1]},' +
      '{"name":"h","datatype":"FP16","shape":[2],"data":[null,null]}]}',
  );
});

test('binary outputs of every datatype carry binary_data_size and their raw bytes in order', () => {
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '1',
    outputs: [
      { name: 'json', tensor: { datatype: 'INT32', shape: [1], data: Int32Array.of(42) }, binary: false },
      ...samples.map((s, i) => ({ name: `out${i}`, tensor: tensorOf(s), binary: true })),
    ],
  });
  const { header, rest } = splitBinary(encoded);
  assert.deepEqual(header.outputs[0], { name: 'json', datatype: 'INT32', shape: [1], data: [42] });
  let offset = 0;
  samples.forEach((s, i) => {
    const output = header.outputs[i + 1]!;
    assert.equal(output.data, undefined);
    const expected = Array.isArray(s.data)
      ? Uint8Array.from(s.data.flatMap((b) => [b.length & 0xff, 0, 0, 0, ...b]))
      : new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    assert.deepEqual(output.parameters, { binary_data_size: expected.length }, s.datatype);
    assert.deepEqual(rest.subarray(offset, offset + expected.length), expected, s.datatype);
    offset += expected.length;
  });
  assert.equal(offset, rest.length);
});

test('binary round trip: encoded outputs decode back into the same tensors', () => {
  const tensors = [
    ...samples.map(tensorOf),
    { datatype: 'FP32', shape: [1, 40, 3], data: Float32Array.from({ length: 120 }, (_, k) => Math.sin(k) * 1e3) } as Tensor,
    { datatype: 'FP16', shape: [3], data: Uint16Array.of(0x7e00, 0x7c00, 0x8000) } as Tensor,
  ];
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '1',
    outputs: tensors.map((tensor, i) => ({ name: `t${i}`, tensor, binary: true })),
  });
  const { header, rest } = splitBinary(encoded);
  // The response header becomes a request header; the binary section is reused as it is.
  const requestHeader = utf8.encode(JSON.stringify({ inputs: header.outputs }));
  const body = new Uint8Array(requestHeader.length + rest.length);
  body.set(requestHeader);
  body.set(rest, requestHeader.length);
  const decoded = decodeInferRequest(body, requestHeader.length);
  assert.deepEqual(
    decoded.inputs.map((input) => input.tensor),
    tensors,
  );
});

test('a JSON round trip keeps every value the JSON form can hold', () => {
  const encoded = encodeInferResponse({
    modelName: 'm',
    modelVersion: '1',
    outputs: samples.map((s, i) => ({ name: `t${i}`, tensor: tensorOf(s), binary: false })),
  });
  const { outputs } = JSON.parse(encoded.body as string) as InferResponse;
  const decoded = decodeInferRequest(utf8.encode(JSON.stringify({ inputs: outputs })), undefined);
  assert.deepEqual(decoded.inputs.map((input) => input.tensor), samples.map(tensorOf));
});

test('storage that does not match the datatype or shape is an Internal error', () => {
  const bad: Tensor[] = [
    { datatype: 'FP16', shape: [2], data: Float32Array.of(1, 2) },
    { datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2) },
    { datatype: 'BYTES', shape: [1], data: Uint8Array.of(1) },
  ];
  for (const tensor of bad) {
    for (const binary of [false, true]) {
      assert.throws(
        () => encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: [{ name: 'y', tensor, binary }] }),
        (err: unknown) => err instanceof WeftError && err.code === ErrorCode.Internal && /^output 'y': the backend returned/.test(err.message),
      );
    }
  }
});
