// The scheduler's ordering, batching, back-pressure and timeouts. The model here is a stand-in
// whose runs finish when the test says so: the only way to hold a queue in a known state.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, WeftError } from '../errors.js';
import type { LoadedModel, Tensor } from '../backends/index.js';
import { DynamicBatchScheduler, type Job, type SchedulerOptions } from './scheduler.js';

/** Doubles its input `x`; every run waits until `release()` is called. */
class GatedModel implements LoadedModel {
  readonly signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 2] }] };
  readonly device = 'cpu' as const;
  readonly batches: number[][] = [];
  private gates: Array<() => void> = [];

  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const x = inputs.x!;
    this.batches.push(Array.from(x.data as Float32Array));
    await new Promise<void>((resolve) => this.gates.push(resolve));
    const y = (x.data as Float32Array).map((v) => v * 2);
    return { y: { datatype: 'FP32', shape: [...x.shape], data: y } };
  }

  /** Lets the oldest waiting run finish. */
  release(): void {
    this.gates.shift()?.();
  }

  async dispose(): Promise<void> {}
}

function job(value: number, overrides: Partial<Job> = {}): Job {
  return {
    inputs: { x: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([value, value]) } },
    outputs: [],
    priority: 2,
    timeoutMs: 10_000,
    ...overrides,
  };
}

const defaults: SchedulerOptions = {
  model: 'm',
  maxBatchSize: 4,
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  maxQueueSize: 8,
  instances: 1,
  priorityLevels: 2,
};

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

describe('DynamicBatchScheduler', () => {
  it('batches what queued while the instance was busy and splits results back', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, defaults);
    const first = s.enqueue(job(1));
    const rest = [2, 3, 4].map((v) => s.enqueue(job(v)));
    await until(() => model.batches.length === 1);
    model.release();
    const r1 = await first;
    assert.equal(r1.batchSize, 1);
    await until(() => model.batches.length === 2);
    assert.deepEqual(model.batches[1], [2, 2, 3, 3, 4, 4]);
    model.release();
    const results = await Promise.all(rest);
    results.forEach((r, i) => {
      assert.equal(r.batchSize, 3);
      assert.equal(r.batchRequests, 3);
      assert.deepEqual(Array.from(r.outputs.y!.data as Float32Array), [(i + 2) * 2, (i + 2) * 2]);
      assert.deepEqual(r.outputs.y!.shape, [1, 2]);
    });
  });

  it('never exceeds max_batch_size and keeps incompatible shapes apart', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 2 });
    const all = [s.enqueue(job(0))];
    all.push(s.enqueue(job(1)), s.enqueue(job(2)), s.enqueue(job(3)));
    all.push(s.enqueue({ ...job(9), inputs: { x: { datatype: 'FP32', shape: [1, 3], data: new Float32Array([9, 9, 9]) } } }));
    for (let i = 0; i < 4; i++) {
      await until(() => model.batches.length === i + 1);
      model.release();
    }
    await Promise.all(all);
    assert.deepEqual(model.batches, [[0, 0], [1, 1, 2, 2], [3, 3], [9, 9, 9]]);
  });

  it('runs higher priority first', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 0 });
    const order: number[] = [];
    const track = (v: number, p: number) => s.enqueue(job(v, { priority: p })).then(() => order.push(v));
    const all = [track(0, 2), track(1, 2), track(2, 1), track(3, 2), track(4, 1)];
    for (let i = 0; i < 5; i++) {
      await until(() => model.batches.length === i + 1);
      model.release();
    }
    await Promise.all(all);
    assert.deepEqual(order, [0, 2, 4, 1, 3]);
  });

  it('refuses at once with QueueFullError and a Retry-After when the queue is full', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxQueueSize: 2, maxBatchSize: 0 });
    const running = s.enqueue(job(0));
    await until(() => model.batches.length === 1);
    const queued = [s.enqueue(job(1)), s.enqueue(job(2))];
    await assert.rejects(s.enqueue(job(3)), (err: WeftError) => {
      assert.equal(err.name, 'QueueFullError');
      assert.equal(err.code, ErrorCode.QueueFull);
      assert.ok(err.retryAfterSeconds! >= 1);
      return true;
    });
    for (let i = 0; i < 3; i++) {
      await until(() => model.batches.length === i + 1);
      model.release();
    }
    await Promise.all([running, ...queued]);
  });

  it('fails a request that waits past its queue timeout, and one whose client cancels', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 0 });
    const running = s.enqueue(job(0));
    await until(() => model.batches.length === 1);
    await assert.rejects(s.enqueue(job(1, { timeoutMs: 5 })), { code: ErrorCode.QueueTimeout });
    const controller = new AbortController();
    const cancelled = s.enqueue(job(2, { signal: controller.signal }));
    controller.abort();
    await assert.rejects(cancelled, { code: ErrorCode.Cancelled });
    assert.equal(s.inflight(), 1);
    model.release();
    await running;
    assert.equal(model.batches.length, 1, 'a timed-out or cancelled request still ran');
  });

  it('waits as long as a timer can for a huge queue timeout, instead of timing out at once', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 0 });
    const running = s.enqueue(job(0));
    await until(() => model.batches.length === 1);
    // 2,147,483,648,000 µs from a KServe `timeout` parameter: past setTimeout's limit.
    const waiting = s.enqueue(job(1, { timeoutMs: 2_147_483_648 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(s.queuedCount(), 1, 'the request timed out at once');
    model.release();
    await running;
    await until(() => model.batches.length === 2);
    model.release();
    await waiting;
  });

  it('holds a batch for max_queue_delay_us to fill it, and dispatches at a preferred size at once', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 8, maxQueueDelayUs: 60_000_000, preferredBatchSizes: [3] });
    const jobs = [s.enqueue(job(1)), s.enqueue(job(2))];
    await sleep(20);
    assert.equal(model.batches.length, 0, 'dispatched before the delay or a preferred size');
    jobs.push(s.enqueue(job(3)));
    await until(() => model.batches.length === 1);
    assert.deepEqual(model.batches[0], [1, 1, 2, 2, 3, 3]);
    model.release();
    await Promise.all(jobs);
  });

  it('rejects what is queued on stop and waits for the running batch', async () => {
    const model = new GatedModel();
    const s = new DynamicBatchScheduler(model, { ...defaults, maxBatchSize: 0 });
    const running = s.enqueue(job(0));
    await until(() => model.batches.length === 1);
    const queued = s.enqueue(job(1));
    const stopped = s.stop();
    await assert.rejects(queued, { code: ErrorCode.ShuttingDown });
    model.release();
    await stopped;
    assert.equal((await running).batchSize, 1);
    await assert.rejects(s.enqueue(job(2)), { code: ErrorCode.ShuttingDown });
  });

  it('fails every request of a batch whose model throws, and keeps serving', async () => {
    const failing: LoadedModel = {
      signature: { inputs: [], outputs: [] },
      device: 'cpu',
      run: async (inputs) => {
        if ((inputs.x!.data as Float32Array)[0] === 13) throw new Error('bad luck');
        return { y: inputs.x! };
      },
      dispose: async () => {},
    };
    const s = new DynamicBatchScheduler(failing, defaults);
    await assert.rejects(s.enqueue(job(13)), (err: WeftError) => err.code === ErrorCode.InferenceFailed && /bad luck/.test(err.message));
    assert.equal((await s.enqueue(job(1))).batchSize, 1);
  });

  it('tells its observer when each batch starts and ends, with every request and its rows', async () => {
    const model = new GatedModel();
    const seen: Array<{ model: string; device: string; rows: number[]; total: number; ended: boolean; error?: string }> = [];
    const scheduler = new DynamicBatchScheduler(model, {
      ...defaults,
      observer: {
        batchStarted(name, device, members, total) {
          const entry = { model: name, device, rows: members.map((m) => m.rows), total, ended: false } as (typeof seen)[number];
          seen.push(entry);
          return (error) => {
            entry.ended = true;
            if (error) entry.error = error.message;
          };
        },
        modelLoaded: () => undefined,
        modelUnloaded: () => undefined,
      },
    });
    const first = scheduler.enqueue(job(1));
    await until(() => model.batches.length === 1);
    const wide = { x: { datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array([2, 2, 3, 3]) } };
    const rest = [scheduler.enqueue(job(0, { inputs: wide })), scheduler.enqueue(job(4))];
    assert.equal(seen[0]!.ended, false);
    model.release();
    await first;
    await until(() => model.batches.length === 2);
    model.release();
    await Promise.all(rest);
    assert.deepEqual(seen, [
      { model: 'm', device: 'cpu', rows: [1], total: 1, ended: true },
      { model: 'm', device: 'cpu', rows: [2, 1], total: 3, ended: true },
    ]);
  });
});
