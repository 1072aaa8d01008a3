import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Placement } from './messages.js';
import { FAILED_RETRY_MS, forgetOldFailures } from './scheduler.js';

test('a node that failed to load an app is tried again once FAILED_RETRY_MS has passed', () => {
  const p: Placement = { v: 1, app: 'ocr', digest: 'sha256:a', ref: 'r', target: 1, assigned: [], pending: '', failed: { c: 'refusing an unsigned bundle', d: 'pull failed' }, failedAt: { c: 1_000 }, scaledAt: 0 };
  forgetOldFailures(p, 1_000 + FAILED_RETRY_MS - 1);
  assert.deepEqual(Object.keys(p.failed), ['c', 'd'], 'not yet');
  assert.equal(p.failedAt!.d, 1_000 + FAILED_RETRY_MS - 1, 'a failure without a time counts from when it is first seen');
  forgetOldFailures(p, 1_000 + FAILED_RETRY_MS);
  assert.deepEqual(p.failed, { d: 'pull failed' });
  assert.deepEqual(Object.keys(p.failedAt!), ['d']);
});
