import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scaleTarget } from './autoscale.js';

const opts = { queueHigh: 4, latencyHighMs: 500, cooldownMs: 10_000 };
const range = { min: 1, max: 4 };

test('a deep queue adds a replica, then the cool-down holds the count', () => {
  const up = scaleTarget(range, 2, { replicas: 2, busy: 20, queued: 20, p99Ms: 10 }, 0, 60_000, opts);
  assert.deepEqual(up, { target: 3, scaledAt: 60_000 });
  const held = scaleTarget(range, 3, { replicas: 3, busy: 30, queued: 30, p99Ms: 10 }, 60_000, 65_000, opts);
  assert.deepEqual(held, { target: 3, scaledAt: 60_000 });
});

test('slow replicas add one; no work removes one; bounds hold', () => {
  assert.equal(scaleTarget(range, 1, { replicas: 1, busy: 1, queued: 0, p99Ms: 900 }, 0, 60_000, opts).target, 2);
  assert.equal(scaleTarget(range, 3, { replicas: 3, busy: 0, queued: 0, p99Ms: 0 }, 0, 60_000, opts).target, 2);
  assert.equal(scaleTarget(range, 1, { replicas: 1, busy: 0, queued: 0, p99Ms: 0 }, 0, 60_000, opts).target, 1);
  assert.equal(scaleTarget(range, 4, { replicas: 4, busy: 99, queued: 99, p99Ms: 0 }, 0, 60_000, opts).target, 4);
  assert.equal(scaleTarget({ min: 3, max: 3 }, 1, { replicas: 0, busy: 0, queued: 0, p99Ms: 0 }, 0, 1, opts).target, 3);
});
