// The adaptive batcher's choice: learnt from real batches (a model whose runs take a scripted time),
// it stops batching where one row at a time serves fastest, and batches where batches pay.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadedModel, Tensor } from '../backends/index.js';
import { BatchProfile } from './batch-profile.js';
import { DynamicBatchScheduler } from './scheduler.js';

describe('batch profile', () => {
  it('chooses the size class that serves rows fastest, once measured, and explores now and then', () => {
    const cpu = new BatchProfile(8);
    assert.equal(cpu.choice().maxRows, 8, 'nothing measured yet: batch as configured');
    for (let i = 0; i < 5; i++) {
      cpu.record(1, 2); // 2 ms a row alone
      cpu.record(8, 24); // 3 ms a row in a batch of 8
    }
    assert.deepEqual(cpu.choice().maxRows, 1);
    assert.match(cpu.choice().reason, /^not batching: fastest per row here \(measured 1 row 2\.00 ms\/row, 8-8 rows 3\.00 ms\/row\)$/);
    const caps = Array.from({ length: 32 }, () => {
      const cap = cpu.maxRows();
      cpu.record(1, 2);
      return cap;
    });
    assert.equal(caps.filter((c) => c === 8).length, 2, 'one batch in 16 may still grow to the max');
    const gpu = new BatchProfile(8);
    for (let i = 0; i < 5; i++) {
      gpu.record(1, 2);
      gpu.record(5, 3); // 0.6 ms a row in a batch of 4-7
    }
    assert.equal(gpu.choice().maxRows, 8, 'batches of 8 were never measured: not ruled out');
    for (let i = 0; i < 5; i++) gpu.record(8, 8); // 1 ms a row: slower than 4-7
    assert.equal(gpu.choice().maxRows, 7);
    assert.match(gpu.choice().reason, /^batching up to 7 rows/);
  });
});

/** A model whose runs take `cost(rows)` ms on the scheduler's clock. */
class TimedModel implements LoadedModel {
  readonly signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }], outputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }] };
  readonly device = 'cpu' as const;
  readonly batches: number[] = [];
  constructor(
    private readonly clock: { now: number },
    private readonly cost: (rows: number) => number,
  ) {}
  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const rows = inputs.x!.shape[0]!;
    this.batches.push(rows);
    this.clock.now += this.cost(rows);
    return inputs;
  }
  async dispose(): Promise<void> {}
}

async function learn(cost: (rows: number) => number): Promise<{ scheduler: DynamicBatchScheduler; model: TimedModel }> {
  const clock = { now: 0 };
  const model = new TimedModel(clock, cost);
  const scheduler = new DynamicBatchScheduler(model, { model: 'm', maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayUs: 0, maxQueueSize: 1000, instances: 1, priorityLevels: 1, adaptive: true }, () => clock.now);
  const one = () => scheduler.enqueue({ inputs: { x: { datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) } }, outputs: [], priority: 1, timeoutMs: 60_000 });
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 16 }, one));
  return { scheduler, model };
}

describe('adaptive batching in the batcher', () => {
  it('stops batching where a row alone runs fastest (a CPU), and keeps batching where batches pay (a GPU)', async () => {
    const cpu = await learn((rows) => 2 * rows + (rows > 1 ? rows : 0));
    assert.equal(cpu.scheduler.batching()!.maxRows, 1);
    const late = cpu.model.batches.slice(-40);
    assert.ok(late.filter((r) => r === 1).length >= 30, `late batches: ${late.join(',')}`);
    const gpu = await learn((rows) => 2 + 0.1 * rows);
    assert.equal(gpu.scheduler.batching()!.maxRows, 8);
    // Sixteen calls at once: the first runs alone (nothing else is queued yet), the rest in full batches.
    assert.ok(gpu.model.batches.slice(-9).filter((r) => r > 1).length >= 6, `late batches: ${gpu.model.batches.slice(-9).join(',')}`);
    await Promise.all([cpu.scheduler.stop(), gpu.scheduler.stop()]);
  });
});
