// Percentiles by nearest rank, checked on samples whose answer is known.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, summarize } from './stats.js';

it('computes nearest-rank percentiles and the summary', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
  const s = summarize(samples);
  assert.deepEqual(s, { count: 100, mean: 50.5, p50: 50, p90: 90, p99: 99, max: 100 });
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(summarize([]).p50));
});
