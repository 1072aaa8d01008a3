import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Observations, pickTwo, score, type Candidate, type RouteWeights } from './choose.js';

const w: RouteWeights = { queue: 1, latency: 0.1, site: 8, energy: 1 };
const c = (node: string, site: string, queue: number, latencyMs = 0, joules = 0): Candidate => ({ node, site, queue, latencyMs, joules });

test('the score adds queue, latency, energy and a penalty for leaving the site', () => {
  assert.equal(score(c('a', 'east', 2, 10, 0.5), 'east', w), 2 + 1 + 0.5);
  assert.equal(score(c('a', 'west', 2, 10, 0.5), 'east', w), 2 + 1 + 0.5 + 8);
});

test('power of two choices takes the better of two distinct candidates', () => {
  const a = c('a', 'east', 5);
  const b = c('b', 'east', 1);
  // Whatever the draw, two candidates are both looked at.
  for (const r of [0, 0.49, 0.5, 0.99]) assert.equal(pickTwo([a, b], 'east', w, () => r)?.node, 'b');
  assert.equal(pickTwo([], 'east', w), undefined);
  assert.equal(pickTwo([a], 'east', w)?.node, 'a');
});

test('in-site replicas win until they are saturated, then the other site takes the spill', () => {
  const pick = (local: number) => pickTwo([c('near', 'east', local), c('far', 'west', 0)], 'east', w, () => 0)!.node;
  assert.equal(pick(3), 'near');
  assert.equal(pick(9), 'far');
});

test('over many draws the least loaded of many replicas is chosen far more often than the most loaded', () => {
  const all = Array.from({ length: 10 }, (_, i) => c(`n${i}`, 'east', i));
  const counts = new Map<string, number>();
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 10_000; i++) {
    const n = pickTwo(all, 'east', w, random)!.node;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  assert.ok((counts.get('n0') ?? 0) > 5 * (counts.get('n9') ?? 0), JSON.stringify([...counts]));
  assert.equal(counts.get('n9') ?? 0, 0, 'the worst is never the better of two');
});

test('observations: latency per node and target, forgotten after a while; down marks expire', () => {
  const seen = new Observations();
  seen.start('a');
  assert.equal(seen.outstanding('a'), 1);
  seen.finish('a', 'm', 100, 1000);
  assert.equal(seen.outstanding('a'), 0);
  assert.equal(seen.latencyOf('a', 'm', 1000), 100);
  assert.equal(seen.latencyOf('a', 'other', 1000), undefined);
  seen.start('a');
  seen.finish('a', 'm', 200, 2000);
  assert.equal(seen.latencyOf('a', 'm', 2000), 120);
  assert.equal(seen.latencyOf('a', 'm', 60_000), undefined);
  seen.markDown('a', 5000);
  seen.markDown('b', 9000);
  assert.deepEqual(seen.downNodes(4000), [{ node: 'a', until: 5000 }, { node: 'b', until: 9000 }]);
  assert.equal(seen.isDown('a', 4000), true);
  assert.equal(seen.isDown('a', 5001), false);
  assert.deepEqual(seen.downNodes(5001), [{ node: 'b', until: 9000 }], 'weft status lists only marks still in force');
});
