// Tensor data to bytes and back: every storage type, views versus copies at unaligned offsets,
// BYTES elements with their length prefixes, and the problems a caller turns into its error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Datatypes, type Datatype } from './types.js';
import { arrayTypeOf, dataFromBytes, dataToBytes, elementSize, storageMatches } from './tensor-bytes.js';

const fail = (problem: string) => new Error(problem);

test('element sizes and storage types', () => {
  const sizes: Record<Datatype, number | undefined> = {
    BOOL: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8,
    FP16: 2, FP32: 4, FP64: 8, BYTES: undefined,
  };
  for (const dt of Datatypes) assert.equal(elementSize(dt), sizes[dt], dt);
  assert.equal(arrayTypeOf('FP16'), Uint16Array);
  assert.equal(arrayTypeOf('INT64'), BigInt64Array);
  assert.ok(storageMatches('FP32', new Float32Array(1)));
  assert.ok(!storageMatches('FP32', new Float64Array(1)));
  assert.ok(storageMatches('BYTES', [new Uint8Array(1)]));
});

test('fixed-size data round-trips, as a view when aligned and a copy when not', () => {
  const values = new Float32Array([1.5, -2, 3.25]);
  const bytes = dataToBytes(values);
  assert.equal(bytes.buffer, values.buffer, 'typed arrays are viewed, not copied');
  const aligned = dataFromBytes(bytes, 'FP32', fail) as Float32Array;
  assert.equal(aligned.buffer, values.buffer);
  const shifted = new Uint8Array(bytes.byteLength + 1);
  shifted.set(bytes, 1);
  const copied = dataFromBytes(shifted.subarray(1), 'FP32', fail) as Float32Array;
  assert.deepEqual(Array.from(copied), [1.5, -2, 3.25]);
  assert.notEqual(copied.buffer, shifted.buffer);
  assert.deepEqual(Array.from(dataFromBytes(dataToBytes(new BigInt64Array([5n, -7n])), 'INT64', fail) as BigInt64Array), [5n, -7n]);
  assert.throws(() => dataFromBytes(new Uint8Array(6), 'FP32', fail), /6 bytes is not a whole number of FP32 elements/);
});

test('BYTES elements carry 4-byte little-endian lengths', () => {
  const elements = [new TextEncoder().encode('hé'), new Uint8Array(0), new Uint8Array([0, 255])];
  const bytes = dataToBytes(elements);
  assert.deepEqual(Array.from(bytes.subarray(0, 4)), [3, 0, 0, 0]);
  assert.deepEqual((dataFromBytes(bytes, 'BYTES', fail) as Uint8Array[]).map((e) => Array.from(e)), elements.map((e) => Array.from(e)));
  assert.throws(() => dataFromBytes(new Uint8Array([9, 0, 0, 0, 1]), 'BYTES', fail), /element 0 declares 9 bytes but only 1 remain/);
  assert.throws(() => dataFromBytes(new Uint8Array([1, 0]), 'BYTES', fail), /truncated length prefix \(2 of 4 bytes\)/);
});
