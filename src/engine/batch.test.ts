// Tests for concatenating requests into a batch and splitting its outputs back by real rows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../backends/index.js';
import { batchRows, concatInputs, splitOutputs } from './batch.js';

const rows = (n: number, start: number): Tensor => ({ datatype: 'FP32', shape: [n, 2], data: Float32Array.from({ length: n * 2 }, (_, i) => start + i) });

test('a batch splits back into each request\'s own rows', () => {
  const batch = concatInputs([{ x: rows(1, 0) }, { x: rows(2, 10) }]);
  assert.deepEqual(batch.x!.shape, [3, 2]);
  const parts = splitOutputs({ y: batch.x! }, [batchRows({ x: rows(1, 0) }), batchRows({ x: rows(2, 10) })])!;
  assert.deepEqual(Array.from(parts[0]!.y!.data as Float32Array), [0, 1]);
  assert.deepEqual(Array.from(parts[1]!.y!.data as Float32Array), [10, 11, 12, 13]);
  assert.deepEqual(parts[1]!.y!.shape, [2, 2]);
});

test('outputs that do not cover exactly the batch are not split', () => {
  assert.equal(splitOutputs({ y: rows(3, 0) }, [1, 1]), undefined, 'more rows than the batch');
  assert.equal(splitOutputs({ y: { datatype: 'FP32', shape: [2, 2], data: new Float32Array(6) } }, [1, 1]), undefined, 'data beyond the shape');
  assert.equal(splitOutputs({ y: { datatype: 'FP32', shape: [0, 2], data: new Float32Array(0) } }, [0]), undefined, 'no rows');
});
