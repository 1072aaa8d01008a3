// Tests for checking request tensors and output names against a model signature.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../errors.js';
import type { Datatype, ModelSignature, Tensor } from '../backends/index.js';
import { tensorsByName, validateCall, validateInputs, validateOutputs } from './validate.js';

const signature: ModelSignature = {
  inputs: [
    { name: 'image', datatype: 'FP32', shape: [-1, 3, 48, -1] },
    { name: 'mask', datatype: 'BOOL', shape: [-1] },
  ],
  outputs: [
    { name: 'logits', datatype: 'FP32', shape: [-1, -1, 6625] },
    { name: 'lengths', datatype: 'INT64', shape: [-1] },
  ],
};
const options = { maxBatchSize: 8, model: 'ocr' };

const tensor = (datatype: Datatype, shape: number[]): Tensor => ({ datatype, shape, data: new Float32Array(0) });
const image = (shape = [1, 3, 48, 320], datatype: Datatype = 'FP32') => ({ name: 'image', tensor: tensor(datatype, shape) });
const mask = { name: 'mask', tensor: tensor('BOOL', [4]) };

function throwsWeft(fn: () => void, code: string, field: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WeftError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('inputs that fit the signature pass, in any order and with dynamic dims of any size', () => {
  validateInputs([image(), mask], signature, options);
  validateInputs([mask, image([8, 3, 48, 1000])], signature, options);
  validateInputs([image([500, 3, 48, 16]), mask], signature, { ...options, maxBatchSize: 0 });
});

test('an input the model does not have is UnknownInput, listing the inputs', () => {
  throwsWeft(
    () => validateInputs([image(), mask, { name: 'x', tensor: tensor('FP32', [1]) }], signature, options),
    ErrorCode.UnknownInput,
    'inputs[2].name',
    "model 'ocr' has no input 'x'; its inputs are 'image', 'mask'",
  );
});

test('a missing input is MissingInput on the inputs field', () => {
  throwsWeft(
    () => validateInputs([image()], signature, options),
    ErrorCode.MissingInput,
    'inputs',
    "model 'ocr' needs input 'mask' (BOOL [-1]), which the request lacks",
  );
});

test('a repeated input is BadRequest', () => {
  throwsWeft(() => validateInputs([image(), mask, image()], signature, options), ErrorCode.BadRequest, 'inputs[2].name', /given more than once/);
});

test('a datatype other than the signature says is InvalidDatatype', () => {
  throwsWeft(
    () => validateInputs([mask, image([1, 3, 48, 320], 'FP16')], signature, options),
    ErrorCode.InvalidDatatype,
    'inputs[1].datatype',
    "input 'image' of model 'ocr' must be FP32, got FP16",
  );
});

test('a wrong rank or fixed dimension is InvalidShape, showing -1 for dynamic dims', () => {
  throwsWeft(
    () => validateInputs([image([1, 3, 320]), mask], signature, options),
    ErrorCode.InvalidShape,
    'inputs[0].shape',
    "input 'image' of model 'ocr' has shape [1,3,320] but the model expects [-1,3,48,-1] (-1: any size)",
  );
  throwsWeft(() => validateInputs([image([1, 3, 32, 320]), mask], signature, options), ErrorCode.InvalidShape, 'inputs[0].shape', /expects \[-1,3,48,-1\]/);
  throwsWeft(() => validateInputs([image(), { name: 'mask', tensor: tensor('BOOL', []) }], signature, options), ErrorCode.InvalidShape, 'inputs[1].shape', /has shape \[\]/);
});

test('a batch over max_batch_size is BatchTooLarge', () => {
  throwsWeft(
    () => validateInputs([image([9, 3, 48, 320]), mask], signature, options),
    ErrorCode.BatchTooLarge,
    'inputs[0].shape',
    "input 'image' has batch size 9 but model 'ocr' takes at most 8 (max_batch_size)",
  );
});

test('output names are checked against the signature', () => {
  validateOutputs([], signature, 'ocr');
  validateOutputs(['lengths', 'logits'], signature, 'ocr');
  throwsWeft(
    () => validateOutputs(['logits', 'probs'], signature, 'ocr'),
    ErrorCode.UnknownOutput,
    'outputs[1].name',
    "model 'ocr' has no output 'probs'; its outputs are 'logits', 'lengths'",
  );
});

test('validateCall refuses data that disagrees with its shape, no rows, and inputs that disagree on rows', () => {
  const sig: ModelSignature = {
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [-1, 2] },
      { name: 'b', datatype: 'FP32', shape: [-1, 2] },
    ],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
  };
  const t = (shape: number[], n: number): Tensor => ({ datatype: 'FP32', shape, data: new Float32Array(n) });
  const opts = { maxBatchSize: 8, model: 'm' };
  validateCall({ a: t([2, 2], 4), b: t([2, 2], 4) }, [], sig, opts);
  throwsWeft(() => validateCall({ a: t([2, 2], 2), b: t([2, 2], 4) }, [], sig, opts), ErrorCode.DataSizeMismatch, 'inputs[0].data', /shape \[2,2\] but 2 elements; the shape needs 4/);
  throwsWeft(() => validateCall({ a: t([0, 2], 0), b: t([0, 2], 0) }, [], sig, opts), ErrorCode.InvalidShape, 'inputs[0].shape', /no rows/);
  throwsWeft(() => validateCall({ a: t([1, 2], 2), b: t([2, 2], 4) }, [], sig, opts), ErrorCode.InvalidShape, 'inputs[1].shape', /'b' has 2 rows but 'a' has 1/);
  throwsWeft(() => validateCall({ a: t([1, 2], 2), b: t([1, 2], 2) }, ['z'], sig, opts), ErrorCode.UnknownOutput, 'outputs[0].name', /no output 'z'/);
  throwsWeft(() => validateCall({ a: t([9, 2], 18), b: t([9, 2], 18) }, [], sig, opts), ErrorCode.BatchTooLarge, 'inputs[0].shape', /at most 8/);
});

test('tensorsByName refuses a name given twice, and keeps __proto__ an ordinary name', () => {
  const x = { datatype: 'FP32' as const, shape: [1], data: new Float32Array(1) };
  throwsWeft(() => tensorsByName([{ name: 'a', tensor: x }, { name: 'a', tensor: x }]), ErrorCode.BadRequest, 'inputs[1].name', /more than once/);
  assert.deepEqual(Object.keys(tensorsByName([{ name: '__proto__', tensor: x }])), ['__proto__']);
});

test('validateCall refuses an empty dimension past the batch, which the runtime would answer with a 500', () => {
  const sig: ModelSignature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] };
  const x = (shape: number[]): Tensor => ({ datatype: 'FP32', shape, data: new Float32Array(0) });
  throwsWeft(() => validateCall({ x: x([1, 3, 48, 0]) }, [], sig, { maxBatchSize: 8, model: 'm' }), ErrorCode.InvalidShape, 'inputs[0].shape', /dimension 3 is 0/);
});
