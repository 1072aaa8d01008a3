import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, placementSchema } from './messages.js';
import { parseGpuList } from './gpus.js';

test('a malformed fleet message is dropped with a warning naming the field', () => {
  const warnings: Array<[string, object | undefined]> = [];
  const log = { warn: (m: string, f?: object) => warnings.push([m, f]) };
  assert.equal(decode(placementSchema, new TextEncoder().encode('not json'), 'weft_placements/x', log), undefined);
  assert.equal(decode(placementSchema, encode({ v: 1, app: 'x', digest: 'd', ref: 'r', target: -1, assigned: [], pending: '', failed: {}, scaledAt: 0 }), 'weft_placements/x', log), undefined);
  assert.equal(warnings.length, 2);
  assert.equal((warnings[1]![1] as { field: string }).field, 'target');
  const good = { v: 1, app: 'x', digest: 'd', ref: 'r', target: 1, assigned: [{ node: 'n1', at: 1 }], pending: '', failed: {}, scaledAt: 0 };
  assert.deepEqual(decode(placementSchema, encode(good), 'p', log), good);
  // A newer schema version is not trusted either.
  assert.equal(decode(placementSchema, encode({ ...good, v: 2 }), 'p', log), undefined);
});

test('nvidia-smi GPU lists are read into model and bytes', () => {
  // As nvidia-smi 580.159.04 printed it on an H200 machine (2026-12-04), and the bytes a node there reported.
  assert.deepEqual(parseGpuList('NVIDIA H200, 143771\n'), [{ model: 'NVIDIA H200', memoryBytes: 150_754_820_096 }]);
  assert.deepEqual(parseGpuList('NVIDIA H100 80GB HBM3, 81559\nNVIDIA L4, 23034\n'), [
    { model: 'NVIDIA H100 80GB HBM3', memoryBytes: 81559 * 1024 ** 2 },
    { model: 'NVIDIA L4', memoryBytes: 23034 * 1024 ** 2 },
  ]);
});
