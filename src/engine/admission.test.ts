// One admission queue for every model kind: the tensor batcher (DynamicBatchScheduler) and the
// language models' slot pool (SlotQueue) refuse, order, time out and cancel by the same rules,
// with the same codes and messages, because both sit behind AdmissionQueue.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors.js';
import type { LoadedModel, Tensor } from '../backends/index.js';
import { AdmissionQueue, checkPriority } from './admission.js';
import { DynamicBatchScheduler } from './scheduler.js';
import { SlotQueue } from './slot-queue.js';

/** A tensor model whose runs finish when the test says so. */
class GatedModel implements LoadedModel {
  readonly signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }], outputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }] };
  readonly device = 'cpu' as const;
  private gates: Array<() => void> = [];
  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return inputs;
  }
  release(): void {
    this.gates.shift()?.();
  }
  async dispose(): Promise<void> {}
}

/** Both kinds behind the same face: one call held running, then calls that must wait. */
interface Kind {
  name: string;
  /** Resolves with the label once the call runs to its end (or rejects as admission says). */
  call(label: string, priority: number, timeoutMs: number, signal: AbortSignal): Promise<string>;
  /** Finishes the oldest running call. */
  finishOne(): void;
  stop(): Promise<void>;
}

const OPTIONS = { model: 'm', maxQueueSize: 2, priorityLevels: 2 };

function tensorKind(): Kind {
  const model = new GatedModel();
  const scheduler = new DynamicBatchScheduler(model, { ...OPTIONS, maxBatchSize: 0, preferredBatchSizes: [], maxQueueDelayUs: 0, instances: 1 });
  return {
    name: 'tensor',
    call: async (label, priority, timeoutMs, signal) => {
      await scheduler.enqueue({ inputs: { x: { datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) } }, outputs: [], priority, timeoutMs, signal });
      return label;
    },
    finishOne: () => model.release(),
    stop: () => scheduler.stop(),
  };
}

function languageKind(): Kind {
  const slots = new SlotQueue({ ...OPTIONS, slots: 1 });
  const running: Array<() => void> = [];
  return {
    name: 'language',
    call: async (label, priority, timeoutMs, signal) => {
      const release = await slots.acquire(priority, timeoutMs, signal);
      await new Promise<void>((resolve) => running.push(resolve));
      release();
      return label;
    },
    finishOne: () => running.shift()?.(),
    stop: async () => slots.stop(),
  };
}

const never = new AbortController().signal;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('one admission queue for every model kind', () => {
  for (const make of [tensorKind, languageKind]) {
    it(`${make().name} models: priority first, a full queue refused at once, timeouts and cancellation`, async () => {
      const kind = make();
      const order: string[] = [];
      const running = kind.call('running', 2, 60_000, never).then((l) => order.push(l));
      await tick();
      const low = kind.call('low', 2, 60_000, never).then((l) => order.push(l));
      const high = kind.call('high', 1, 60_000, never).then((l) => order.push(l));
      await assert.rejects(kind.call('over', 1, 60_000, never), (err: { code: string; retryAfterSeconds: number }) => {
        assert.equal(err.code, ErrorCode.QueueFull);
        assert.ok(err.retryAfterSeconds >= 1);
        return true;
      });
      for (let i = 0; i < 3; i++) {
        await tick();
        kind.finishOne();
        await tick();
      }
      await Promise.all([running, low, high]);
      assert.deepEqual(order, ['running', 'high', 'low']);

      const busy = kind.call('busy', 2, 60_000, never);
      await tick();
      await assert.rejects(kind.call('late', 2, 20, never), { code: ErrorCode.QueueTimeout, message: "request waited 20 ms in the queue of model 'm' without running" });
      const gone = new AbortController();
      const waiting = kind.call('gone', 2, 60_000, gone.signal);
      gone.abort();
      await assert.rejects(waiting, { code: ErrorCode.Cancelled });
      // A forwarded request's deadline (a timeout signal) is not a caller gone away: 504, not 499.
      await assert.rejects(kind.call('due', 2, 60_000, AbortSignal.timeout(20)), { code: ErrorCode.DeadlineExceeded });
      const stopped = kind.call('stopped', 2, 60_000, never);
      await tick();
      const stopping = kind.stop();
      await assert.rejects(stopped, { code: ErrorCode.ShuttingDown });
      kind.finishOne();
      await busy;
      await stopping;
    });
  }

  it('serves tenants in weighted fair turns within a level, after strict priority', () => {
    const queue = new AdmissionQueue<{ label: string }>({ model: 'm', maxQueueSize: 100, priorityLevels: 2 });
    const push = (label: string, priority: number, tenant: string, weight = 1) => queue.push({ label }, priority, 60_000, undefined, () => undefined, { tenant, weight });
    for (let i = 1; i <= 6; i++) push(`heavy${i}`, 2, 'heavy');
    push('light1', 2, 'light');
    push('light2', 2, 'light');
    for (let i = 1; i <= 3; i++) push(`gold${i}`, 2, 'gold', 3);
    push('urgent', 1, 'heavy');
    const order: string[] = [];
    for (let item = queue.head(); item !== undefined; item = queue.head()) {
      order.push(item.label);
      queue.remove(item);
    }
    for (let i = 0; i < 100; i++) queue.push({ label: 'x' }, 2, 60_000, undefined, () => undefined);
    // Tags: heavy 1..6, light 1, 2, gold (weight 3) 1/3, 2/3, 1; equal tags keep arrival order.
    assert.deepEqual(order, ['urgent', 'gold1', 'gold2', 'heavy1', 'light1', 'gold3', 'heavy2', 'light2', 'heavy3', 'heavy4', 'heavy5', 'heavy6']);
    queue.stop();
  });

  it('starts a tenant that comes later at the current turn, not at its old credit', () => {
    const queue = new AdmissionQueue<{ label: string }>({ model: 'm', maxQueueSize: 100, priorityLevels: 1 });
    const push = (label: string, tenant: string) => queue.push({ label }, 1, 60_000, undefined, () => undefined, { tenant, weight: 1 });
    const take = () => {
      const item = queue.head()!;
      queue.remove(item);
      return item.label;
    };
    for (let i = 1; i <= 4; i++) push(`a${i}`, 'a');
    assert.equal(take(), 'a1');
    assert.equal(take(), 'a2');
    // b was idle while a was served: it gets the next turn, then they alternate; it gets no
    // backlog of turns it did not use.
    push('b1', 'b');
    push('b2', 'b');
    push('b3', 'b');
    assert.deepEqual([take(), take(), take(), take(), take()], ['a3', 'b1', 'a4', 'b2', 'b3']);
  });

  it('checks a priority the same way for every kind', () => {
    const config = { priorityLevels: 2, defaultPriorityLevel: 2 };
    assert.equal(checkPriority(undefined, config, 'priority'), 2);
    assert.equal(checkPriority(1, config, 'priority'), 1);
    for (const bad of [0, 3, 1.5]) assert.throws(() => checkPriority(bad, config, 'parameters.priority'), { code: ErrorCode.BadRequest, field: 'parameters.priority' });
  });
});
