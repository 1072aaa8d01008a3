import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statsInventory } from './stats-source.js';

function powerOf(power: Array<{ watts: number; source: string }>) {
  return statsInventory({ budget: { cpu: 0, cuda: 0 }, models: () => [], stats: () => ({ models: [], power }), bundles: async () => [], idleWatts: 10 }).power();
}

test("a node's power says how it was known: measured, estimated, or partly measured with the measured part", () => {
  assert.deepEqual(powerOf([]), { watts: 10, source: 'estimate', measured: false });
  assert.deepEqual(powerOf([{ watts: 40, source: 'measured' }, { watts: 77, source: 'measured' }]), { watts: 117, source: 'measured', measured: true });
  assert.deepEqual(powerOf([{ watts: 10, source: 'estimated' }]), { watts: 10, source: 'estimated', measured: false });
  // What a node on an H200 machine without readable RAPL reported (2026-12-04): an estimated CPU, nvidia-smi's GPU.
  assert.deepEqual(powerOf([{ watts: 10.07, source: 'estimated' }, { watts: 76.9, source: 'measured' }]), { watts: 86.97, source: 'partly measured', measured: false, measuredWatts: 76.9 });
});
