// Tests for decoding KServe v2 inference requests: JSON and binary tensors of every datatype,
// nested data, alignment of binary data, and every error with its code and field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../../errors.js';
import type { Datatype, TensorData } from '../../backends/index.js';
import { decodeInferRequest } from './decode.js';

const utf8 = new TextEncoder();
const json = (request: unknown): Uint8Array => utf8.encode(JSON.stringify(request));

/** A binary-extension body: JSON header (padded with spaces to `headerLength`) then sections. */
function binaryBody(header: unknown, sections: Uint8Array[], headerLength?: number): [Uint8Array, number] {
  let text = JSON.stringify(header);
  if (headerLength !== undefined) text = text.padEnd(headerLength, ' ');
  const head = utf8.encode(text);
  const body = new Uint8Array(sections.reduce((n, s) => n + s.length, head.length));
  body.set(head);
  let offset = head.length;
  for (const s of sections) {
    body.set(s, offset);
    offset += s.length;
  }
  return [body, head.length];
}

const bytesOf = (data: Exclude<TensorData, Uint8Array[]>): Uint8Array =>
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function throwsWeft(fn: () => unknown, code: string, field: string | undefined, message?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WeftError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

const samples: { datatype: Datatype; json: unknown[]; data: TensorData }[] = [
  { datatype: 'BOOL', json: [true, false, 0, 1], data: Uint8Array.of(1, 0, 0, 1) },
  { datatype: 'UINT8', json: [0, 200, 255, 1], data: Uint8Array.of(0, 200, 255, 1) },
  { datatype: 'UINT16', json: [1, 2, 65535, 0], data: Uint16Array.of(1, 2, 65535, 0) },
  { datatype: 'UINT32', json: [1, 2, 4294967295, 0], data: Uint32Array.of(1, 2, 4294967295, 0) },
  { datatype: 'UINT64', json: [1, '18446744073709551615', 3, 0], data: BigUint64Array.of(1n, 18446744073709551615n, 3n, 0n) },
  { datatype: 'INT8', json: [-128, 127, 0, -1], data: Int8Array.of(-128, 127, 0, -1) },
  { datatype: 'INT16', json: [-32768, 32767, 0, -1], data: Int16Array.of(-32768, 32767, 0, -1) },
  { datatype: 'INT32', json: [-2147483648, 5, 0, -1], data: Int32Array.of(-2147483648, 5, 0, -1) },
  { datatype: 'INT64', json: ['-9223372036854775808', 5, 0, -1], data: BigInt64Array.of(-9223372036854775808n, 5n, 0n, -1n) },
  { datatype: 'FP16', json: [1, -2, 0.5, 0], data: Uint16Array.of(0x3c00, 0xc000, 0x3800, 0) },
  { datatype: 'FP32', json: [0.25, -1.5, 1e30, 0], data: Float32Array.of(0.25, -1.5, 1e30, 0) },
  { datatype: 'FP64', json: [0.1, -1e300, 5e-324, 0], data: Float64Array.of(0.1, -1e300, 5e-324, 0) },
  { datatype: 'BYTES', json: ['a', 'héllo', '', 'z'], data: [utf8.encode('a'), utf8.encode('héllo'), new Uint8Array(0), utf8.encode('z')] },
];

test('JSON inputs of every datatype decode into their storage', () => {
  const request = decodeInferRequest(
    json({ inputs: samples.map((s, i) => ({ name: `in${i}`, datatype: s.datatype, shape: [2, 2], data: s.json })) }),
    undefined,
  );
  assert.equal(request.inputs.length, samples.length);
  samples.forEach((s, i) => {
    const input = request.inputs[i]!;
    assert.equal(input.name, `in${i}`);
    assert.deepEqual(input.tensor, { datatype: s.datatype, shape: [2, 2], data: s.data }, s.datatype);
  });
  assert.deepEqual(request.outputs, []);
  assert.equal(request.binaryOutputDefault, false);
  assert.equal(request.id, undefined);
});

test('binary inputs of every datatype decode into their storage', () => {
  const sections = samples.map((s) =>
    Array.isArray(s.data)
      ? Uint8Array.from(s.data.flatMap((b) => [...new Uint8Array(Uint32Array.of(b.length).buffer), ...b]))
      : bytesOf(s.data),
  );
  const inputs = samples.map((s, i) => ({
    name: `in${i}`,
    datatype: s.datatype,
    shape: [4],
    parameters: { binary_data_size: sections[i]!.length, note: 'kept' },
  }));
  const [body, headerLength] = binaryBody({ inputs }, sections);
  const request = decodeInferRequest(body, headerLength);
  samples.forEach((s, i) => {
    assert.deepEqual(request.inputs[i]!.tensor, { datatype: s.datatype, shape: [4], data: s.data }, s.datatype);
    assert.deepEqual(request.inputs[i]!.parameters, { note: 'kept' });
  });
});

test('aligned binary data is a view on the body; unaligned data is copied', () => {
  const values = Float32Array.of(1.5, -2, 3.25);
  const header = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }] };
  const [aligned, alignedLength] = binaryBody(header, [bytesOf(values)], 104);
  const view = decodeInferRequest(aligned, alignedLength).inputs[0]!.tensor.data as Float32Array;
  assert.deepEqual(view, values);
  assert.equal(view.buffer, aligned.buffer);
  assert.equal(view.byteOffset, 104);

  const [unaligned, unalignedLength] = binaryBody(header, [bytesOf(values)], 103);
  const copy = decodeInferRequest(unaligned, unalignedLength).inputs[0]!.tensor.data as Float32Array;
  assert.deepEqual(copy, values);
  assert.notEqual(copy.buffer, unaligned.buffer);

  // A body that is itself a slice of a larger buffer: the absolute offset decides alignment.
  const [inner, innerLength] = binaryBody(header, [bytesOf(values)], 104);
  const outer = new Uint8Array(inner.length + 1);
  outer.set(inner, 1);
  assert.deepEqual(decodeInferRequest(outer.subarray(1), innerLength).inputs[0]!.tensor.data, values);
});

test('JSON and binary inputs mix; outputs, id and parameters are read', () => {
  const [body, headerLength] = binaryBody(
    {
      id: 'req-1',
      parameters: { binary_data_output: true, priority: 2 },
      inputs: [
        { name: 'a', datatype: 'INT32', shape: [2], data: [1, 2] },
        { name: 'b', datatype: 'FP16', shape: [1], parameters: { binary_data_size: 2 } },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: false, top_k: 3 } }, { name: 'z' }],
    },
    [bytesOf(Uint16Array.of(0x3c00))],
  );
  const request = decodeInferRequest(body, headerLength);
  assert.equal(request.id, 'req-1');
  assert.deepEqual(request.parameters, { priority: 2 });
  assert.equal(request.binaryOutputDefault, true);
  assert.deepEqual(request.inputs[0]!.tensor.data, Int32Array.of(1, 2));
  assert.deepEqual(request.inputs[1]!.tensor.data, Uint16Array.of(0x3c00));
  assert.deepEqual(request.outputs, [
    { name: 'y', binary: false, parameters: { top_k: 3 } },
    { name: 'z', binary: true, parameters: {} },
  ]);
});

test('nested data is flattened row-major when it follows the shape', () => {
  const decode = (shape: number[], data: unknown) =>
    decodeInferRequest(json({ inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }), undefined).inputs[0]!.tensor.data;
  assert.deepEqual(decode([2, 3], [[1, 2, 3], [4, 5, 6]]), Float32Array.of(1, 2, 3, 4, 5, 6));
  assert.deepEqual(decode([2, 1, 2], [[[1, 2]], [[3, 4]]]), Float32Array.of(1, 2, 3, 4));
  assert.deepEqual(decode([2, 0], [[], []]), new Float32Array(0));
  assert.deepEqual(decode([], [7]), Float32Array.of(7));
  assert.deepEqual(decode([0, 3], []), new Float32Array(0));
});

test('nested data that does not follow the shape is a DataSizeMismatch', () => {
  const decode = (shape: number[], data: unknown) => () =>
    decodeInferRequest(json({ inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }), undefined);
  const field = 'inputs[0].data';
  throwsWeft(decode([2, 3], [[1, 2, 3], [4, 5]]), ErrorCode.DataSizeMismatch, field,
    "input 'x': nested data does not match shape [2,3]: data[1] has 2 elements, expected 3");
  throwsWeft(decode([2, 2], [[1, 2], 3]), ErrorCode.DataSizeMismatch, field, /data\[1\] is not an array/);
  throwsWeft(decode([2], [[1], [2]]), ErrorCode.DataSizeMismatch, field, /data\[0\] is an array but the shape has only 1 dimensions/);
  throwsWeft(decode([3, 2], [[1, 2], [3, 4]]), ErrorCode.DataSizeMismatch, field, /data has 2 elements, expected 3/);
});

const input = { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] };
const jsonErrors: { name: string; body: unknown; code: string; field: string | undefined; message?: string | RegExp }[] = [
  { name: 'not an object', body: [input], code: ErrorCode.BadRequest, field: undefined },
  { name: 'no inputs', body: {}, code: ErrorCode.BadRequest, field: 'inputs' },
  { name: 'empty inputs', body: { inputs: [] }, code: ErrorCode.BadRequest, field: 'inputs' },
  { name: 'input not an object', body: { inputs: [input, 5] }, code: ErrorCode.BadRequest, field: 'inputs[1]' },
  { name: 'missing name', body: { inputs: [{ ...input, name: undefined }] }, code: ErrorCode.BadRequest, field: 'inputs[0].name' },
  { name: 'duplicate name', body: { inputs: [input, input] }, code: ErrorCode.BadRequest, field: 'inputs[1].name', message: /'x' is given more than once/ },
  {
    name: 'unknown datatype',
    body: { inputs: [input, { ...input, name: 'y', datatype: 'FLOAT32' }] },
    code: ErrorCode.InvalidDatatype,
    field: 'inputs[1].datatype',
    message: "input 'y': unknown datatype \"FLOAT32\"; valid datatypes are BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES",
  },
  { name: 'missing datatype', body: { inputs: [{ ...input, datatype: undefined }] }, code: ErrorCode.InvalidDatatype, field: 'inputs[0].datatype' },
  { name: 'shape not an array', body: { inputs: [{ ...input, shape: '1,3' }] }, code: ErrorCode.InvalidShape, field: 'inputs[0].shape' },
  { name: 'negative dim', body: { inputs: [{ ...input, shape: [1, -3] }] }, code: ErrorCode.InvalidShape, field: 'inputs[0].shape', message: /got \[1,-3\]/ },
  { name: 'fractional dim', body: { inputs: [{ ...input, shape: [1.5, 2] }] }, code: ErrorCode.InvalidShape, field: 'inputs[0].shape' },
  { name: 'missing shape', body: { inputs: [{ ...input, shape: undefined }] }, code: ErrorCode.InvalidShape, field: 'inputs[0].shape' },
  {
    name: 'too many elements',
    body: { inputs: [{ ...input, data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }] },
    code: ErrorCode.DataSizeMismatch,
    field: 'inputs[0].data',
    message: "input 'x': data has 10 elements but shape [1,3] needs 3",
  },
  { name: 'too few elements', body: { inputs: [{ ...input, data: [1] }] }, code: ErrorCode.DataSizeMismatch, field: 'inputs[0].data', message: /has 1 elements but shape \[1,3\] needs 3/ },
  { name: 'no data', body: { inputs: [{ ...input, data: undefined }] }, code: ErrorCode.BadRequest, field: 'inputs[0].data', message: /has no data/ },
  { name: 'data not an array', body: { inputs: [{ ...input, data: 5 }] }, code: ErrorCode.BadRequest, field: 'inputs[0].data' },
  { name: 'wrong element type', body: { inputs: [input, { ...input, name: 'y', data: [1, 'a', 3] }] }, code: ErrorCode.InvalidTensor, field: 'inputs[1].data' },
  { name: 'id not a string', body: { id: 5, inputs: [input] }, code: ErrorCode.BadRequest, field: 'id' },
  { name: 'parameters not an object', body: { parameters: [1], inputs: [input] }, code: ErrorCode.BadRequest, field: 'parameters' },
  { name: 'binary_data_output not boolean', body: { parameters: { binary_data_output: 'yes' }, inputs: [input] }, code: ErrorCode.BadRequest, field: 'parameters.binary_data_output' },
  { name: 'input parameters not an object', body: { inputs: [{ ...input, parameters: 3 }] }, code: ErrorCode.BadRequest, field: 'inputs[0].parameters' },
  { name: 'outputs not an array', body: { inputs: [input], outputs: {} }, code: ErrorCode.BadRequest, field: 'outputs' },
  { name: 'output without name', body: { inputs: [input], outputs: [{}] }, code: ErrorCode.BadRequest, field: 'outputs[0].name' },
  { name: 'duplicate output', body: { inputs: [input], outputs: [{ name: 'y' }, { name: 'y' }] }, code: ErrorCode.BadRequest, field: 'outputs[1].name' },
  { name: 'binary_data not boolean', body: { inputs: [input], outputs: [{ name: 'y', parameters: { binary_data: 1 } }] }, code: ErrorCode.BadRequest, field: 'outputs[0].parameters.binary_data' },
  {
    name: 'binary_data_size without binary data',
    body: { inputs: [{ ...input, data: undefined, parameters: { binary_data_size: 12 } }] },
    code: ErrorCode.DataSizeMismatch,
    field: 'inputs[0].parameters.binary_data_size',
    message: /no binary data/,
  },
];

test('malformed JSON requests fail with the right code and field', () => {
  assert.doesNotThrow(() => decodeInferRequest(json({ inputs: [input] }), undefined), 'the base input is valid');
  for (const { name, body, code, field, message } of jsonErrors) {
    try {
      throwsWeft(() => decodeInferRequest(json(body), undefined), code, field, message);
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
  }
});

test('unparseable bodies are InvalidJson and say where parsing failed', () => {
  throwsWeft(() => decodeInferRequest(utf8.encode('{\n  "id": "a",\n}'), undefined), ErrorCode.InvalidJson, undefined,
    /^the request is not valid JSON: .*position 15 \(line 3 column 1\)$/);
  throwsWeft(() => decodeInferRequest(utf8.encode('{"inputs": ['), undefined), ErrorCode.InvalidJson, undefined, /end of JSON input/);
  throwsWeft(() => decodeInferRequest(new Uint8Array(0), undefined), ErrorCode.InvalidJson, undefined);
  throwsWeft(() => decodeInferRequest(Uint8Array.of(0x7b, 0xff, 0x7d), undefined), ErrorCode.InvalidJson, undefined, /UTF-8/);
});

test('binary sizes that do not add up are DataSizeMismatch (or BadRequest when malformed)', () => {
  const fp32 = (size: unknown, extra: object = {}) => ({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: size }, ...extra }],
  });
  const twelve = new Uint8Array(12);
  const sizeField = 'inputs[0].parameters.binary_data_size';
  const cases: [string, [Uint8Array, number], string, string | undefined, RegExp?][] = [
    ['size not shape × 4', binaryBody(fp32(8), [new Uint8Array(8)]), ErrorCode.DataSizeMismatch, sizeField,
      /^input 'x': binary_data_size is 8 bytes but shape \[1,3\] of FP32 needs 12$/],
    ['missing bytes', binaryBody(fp32(12), [new Uint8Array(8)]), ErrorCode.DataSizeMismatch, sizeField, /only 8 bytes of binary data are left/],
    ['leftover bytes', binaryBody(fp32(12), [new Uint8Array(16)]), ErrorCode.DataSizeMismatch, 'Inference-Header-Content-Length', /4 bytes are left over/],
    ['negative size', binaryBody(fp32(-12), [twelve]), ErrorCode.BadRequest, sizeField],
    ['string size', binaryBody(fp32('12'), [twelve]), ErrorCode.BadRequest, sizeField],
    ['data and binary', binaryBody(fp32(12, { data: [1, 2, 3] }), [twelve]), ErrorCode.BadRequest, 'inputs[0].data'],
  ];
  for (const [name, [body, headerLength], code, field, message] of cases) {
    try {
      throwsWeft(() => decodeInferRequest(body, headerLength), code, field, message);
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
  }
  const [body] = binaryBody(fp32(12), [twelve]);
  throwsWeft(() => decodeInferRequest(body, body.length + 1), ErrorCode.DataSizeMismatch, 'Inference-Header-Content-Length',
    new RegExp(`is ${body.length + 1}, which does not fit a body of ${body.length} bytes`));
});

test('binary BYTES and BOOL data are checked element by element', () => {
  const header = (datatype: string, size: number, shape = [2]) => ({ inputs: [{ name: 's', datatype, shape, parameters: { binary_data_size: size } }] });
  const field = 'inputs[0].parameters.binary_data_size';
  const strings = Uint8Array.of(1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63);
  const [good, goodLength] = binaryBody(header('BYTES', 11), [strings]);
  assert.deepEqual(decodeInferRequest(good, goodLength).inputs[0]!.tensor.data, [Uint8Array.of(0x61), Uint8Array.of(0x62, 0x63)]);

  const cases: [Uint8Array, RegExp][] = [
    [strings.subarray(0, 7), /BYTES element 1 has a truncated length prefix \(2 of 4 bytes\)/],
    [Uint8Array.of(9, 0, 0, 0, 0x61), /BYTES element 0 declares 9 bytes but only 1 remain/],
    [strings.subarray(0, 5), /holds 1 BYTES elements but the shape needs 2/],
  ];
  for (const [bytes, message] of cases) {
    const [body, headerLength] = binaryBody(header('BYTES', bytes.length), [bytes]);
    throwsWeft(() => decodeInferRequest(body, headerLength), ErrorCode.DataSizeMismatch, field, message);
  }
  const [bools, boolsLength] = binaryBody(header('BOOL', 2), [Uint8Array.of(1, 2)]);
  throwsWeft(() => decodeInferRequest(bools, boolsLength), ErrorCode.InvalidTensor, field, /BOOL element 1 is the byte 2/);
});
