// Tensor conversion between the WIT form (datatype name, shape, little-endian bytes) and the
// engine's typed arrays, including length-prefixed `bytes` elements and misaligned input.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromWit, toWit } from './tensors.js';

describe('tensor conversion', () => {
  it('round-trips fp32 and int64, copying misaligned bytes', () => {
    const values = new Float32Array([1.5, -2, 3.25]);
    const shifted = new Uint8Array(13);
    shifted.set(new Uint8Array(values.buffer), 1);
    const t = fromWit({ name: 'x', datatype: 'fp32', shape: [1, 3], data: shifted.subarray(1) });
    assert.equal(t.datatype, 'FP32');
    assert.deepEqual(Array.from(t.data as Float32Array), [1.5, -2, 3.25]);
    const back = toWit('x', { datatype: 'INT64', shape: [2], data: new BigInt64Array([5n, -7n]) });
    assert.equal(back.datatype, 'int64');
    assert.deepEqual(Array.from(fromWit(back).data as BigInt64Array), [5n, -7n]);
  });

  it('carries bytes elements as a u32 length then the bytes', () => {
    const elements = [new Uint8Array([104, 105]), new Uint8Array([])];
    const wit = toWit('s', { datatype: 'BYTES', shape: [2], data: elements });
    assert.deepEqual(Array.from(wit.data), [2, 0, 0, 0, 104, 105, 0, 0, 0, 0]);
    assert.deepEqual((fromWit(wit).data as Uint8Array[]).map((e) => Array.from(e)), [[104, 105], []]);
  });

  it('refuses data that is not a whole number of elements or overruns', () => {
    assert.throws(() => fromWit({ name: 'x', datatype: 'fp32', shape: [1], data: new Uint8Array(3) }), /not a whole number of FP32 elements/);
    assert.throws(() => fromWit({ name: 's', datatype: 'bytes', shape: [1], data: new Uint8Array([9, 0, 0, 0, 1]) }), /declares 9 bytes but only 1 remain/);
    assert.throws(() => fromWit({ name: 'x', datatype: 'complex', shape: [1], data: new Uint8Array(4) }), /unknown datatype/);
  });
});
