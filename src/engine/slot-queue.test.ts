import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors.js';
import { SlotQueue } from './slot-queue.js';

const never = new AbortController().signal;

describe('SlotQueue', () => {
  it('grants slots, queues by priority, refuses a full queue at once', async () => {
    const q = new SlotQueue({ model: 'm', slots: 1, maxQueueSize: 2, priorityLevels: 2 });
    const first = await q.acquire(2, 60_000, never);
    const order: string[] = [];
    const low = q.acquire(2, 60_000, never).then((release) => (order.push('low'), release));
    const high = q.acquire(1, 60_000, never).then((release) => (order.push('high'), release));
    await assert.rejects(q.acquire(1, 60_000, never), (err: { code: string; retryAfterSeconds: number }) => {
      assert.equal(err.code, ErrorCode.QueueFull);
      assert.ok(err.retryAfterSeconds >= 1);
      return true;
    });
    first();
    (await high)();
    (await low)();
    assert.deepEqual(order, ['high', 'low']);
    assert.equal(q.inflight, 0);
  });

  it('drops a waiter whose client goes away, and rejects waiters on stop', async () => {
    const q = new SlotQueue({ model: 'm', slots: 1, maxQueueSize: 4, priorityLevels: 1 });
    const release = await q.acquire(1, 60_000, never);
    const gone = new AbortController();
    const waiting = q.acquire(1, 60_000, gone.signal);
    gone.abort();
    await assert.rejects(waiting, { code: ErrorCode.Cancelled });
    assert.equal(q.queued, 0);
    const stopped = q.acquire(1, 60_000, never);
    q.stop();
    await assert.rejects(stopped, { code: ErrorCode.ShuttingDown });
    release();
  });
});
