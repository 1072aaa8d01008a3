import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../errors.js';
import { decodeModelInfer, encodeModelInfer } from './codec.js';
import type { ModelInferRequest } from './wire.js';

function request(overrides: Partial<ModelInferRequest>): ModelInferRequest {
  return { model_name: 'm', parameters: {}, inputs: [], outputs: [], raw_input_contents: [], ...overrides };
}

function refusal(fn: () => unknown): WeftError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WeftError);
    return err;
  }
  assert.fail('no error');
}

describe('gRPC ModelInfer codec', () => {
  it('decodes raw contents into tensors and asks for raw outputs', () => {
    const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const d = decodeModelInfer(request({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'], parameters: {} }], raw_input_contents: [bytes] }));
    assert.deepEqual(d.inputs[0]!.tensor.shape, [1, 4]);
    assert.deepEqual(Array.from(d.inputs[0]!.tensor.data as Float32Array), [1, 2, 3, 4]);
    assert.equal(d.rawOutput, true);
  });

  it('decodes typed contents, 64-bit integers exactly, and reads numeric parameters of any choice', () => {
    const d = decodeModelInfer(request({
      inputs: [{ name: 'x', datatype: 'INT64', shape: ['2'], parameters: {}, contents: { int64_contents: ['-9223372036854775808', '7'] } }],
      parameters: { priority: { parameter_choice: 'uint64_param', uint64_param: '2' }, timeout: { parameter_choice: 'int64_param', int64_param: '5000' } },
    }));
    assert.deepEqual(Array.from(d.inputs[0]!.tensor.data as BigInt64Array), [-(2n ** 63n), 7n]);
    assert.equal(d.priority, 2);
    assert.equal(d.timeoutUs, 5000);
    assert.equal(d.rawOutput, false);
  });

  it('names the field at fault', () => {
    const input = { name: 'x', datatype: 'FP32', shape: ['1', '4'], parameters: {} };
    assert.equal(refusal(() => decodeModelInfer(request({ inputs: [{ ...input, contents: { fp32_contents: [1] } }] }))).field, 'inputs[0].contents.fp32_contents');
    assert.equal(refusal(() => decodeModelInfer(request({ inputs: [{ ...input, datatype: 'FP16', contents: { fp32_contents: [1, 2, 3, 4] } }] }))).field, 'inputs[0].contents');
    assert.equal(refusal(() => decodeModelInfer(request({ inputs: [input], raw_input_contents: [new Uint8Array(3)] }))).field, 'raw_input_contents[0]');
    assert.equal(refusal(() => decodeModelInfer(request({ inputs: [{ ...input, shape: ['-1', '4'] }] }))).field, 'inputs[0].shape');
    assert.equal(refusal(() => decodeModelInfer(request({ inputs: [{ ...input, contents: { fp32_contents: [1, 2, 3, 4] } }], parameters: { priority: { parameter_choice: 'bool_param', bool_param: true } } }))).field, 'parameters.priority');
  });

  it('answers FP16 raw even when the request was typed', () => {
    const r = encodeModelInfer({ model: 'm', version: '1', id: '', batchSize: 1, batchRequests: 1, raw: false, outputs: [['y', { datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0]) }]] });
    assert.equal(r.raw_output_contents.length, 1);
    assert.equal(r.outputs[0]!.contents, undefined);
  });
});
