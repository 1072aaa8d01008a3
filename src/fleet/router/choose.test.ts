import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeRecord } from '../messages.js';
import { Observations, pickTwo, ReplicaChooser, score, type Candidate, type RouteWeights } from './choose.js';

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

/** A node record serving `models`, with `queued` requests waiting for each. */
function record(node: string, models: string[], queued = 0, draining = false): NodeRecord {
  return {
    v: 1, node, site: 'east', labels: {}, url: 'http://127.0.0.1:1', version: '0', at: 0, draining,
    cpu: { cores: 1, model: 'x' }, memory: { totalBytes: 1 }, gpus: [], budget: { cpu: 1, cuda: 0 }, free: { cpu: 1, cuda: 0 }, localBytes: 0,
    power: { watts: 1, source: 'estimate', measured: false }, models, apps: [], bundles: [],
    load: models.map((model) => ({ model, queued, inflight: 0, p50Ms: 1, p99Ms: 1, rate: 0, joulesPerRequest: 0 })),
    replicas: [],
  };
}

test('the chooser never picks this node, a draining one, one marked down or one already tried', () => {
  const records = [record('self', ['m']), record('drain', ['m'], 0, true), record('down', ['m']), record('tried', ['m']), record('ok', ['m'], 5), record('other', ['x'])];
  const seen = new Observations();
  seen.markDown('down', Date.now() + 60_000);
  const chooser = new ReplicaChooser({ node: 'self', site: 'east', nodes: () => new Map(records.map((r) => [r.node, r])), weights: w, seen });
  for (let i = 0; i < 200; i++) assert.equal(chooser.choose({ kind: 'model', name: 'm' }, new Set(['tried']))?.node, 'ok');
  assert.equal(chooser.anyLeft({ kind: 'model', name: 'm' }, new Set(['tried'])), true);
  assert.equal(chooser.anyLeft({ kind: 'model', name: 'm' }, new Set(['tried', 'ok'])), false);
  assert.equal(chooser.choose({ kind: 'model', name: 'm' }, new Set(['tried', 'ok'])), undefined);
  // Saturated here with 5 in flight: a replica with 5 queued is not worth the hop, one with fewer is.
  assert.equal(chooser.choose({ kind: 'model', name: 'm' }, new Set(['tried']), 5), undefined);
  assert.equal(chooser.choose({ kind: 'model', name: 'm' }, new Set(['tried']), 6)?.node, 'ok');
  assert.equal(chooser.choose({ kind: 'model', name: 'nowhere' }), undefined);
});

test('the chooser finds the two replicas left of a thousand, and draws the better of two among many', () => {
  const records = Array.from({ length: 1000 }, (_, i) => record(`n${i}`, ['m'], i));
  const seen = new Observations();
  for (let i = 2; i < 1000; i++) seen.markDown(`n${i}`, Date.now() + 60_000);
  const nodes = new Map(records.map((r) => [r.node, r]));
  const few = new ReplicaChooser({ node: 'self', site: 'east', nodes: () => nodes, weights: w, seen });
  for (let i = 0; i < 50; i++) assert.equal(few.choose({ kind: 'model', name: 'm' })?.node, 'n0', 'of n0 and n1 left, the less loaded');
  // All up: the worst node is never the better of two, and the best is picked far more often.
  const many = new ReplicaChooser({ node: 'self', site: 'east', nodes: () => nodes, weights: w, seen: new Observations() });
  const counts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const n = many.choose({ kind: 'model', name: 'm' })!.node;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  assert.equal(counts.get('n999') ?? 0, 0);
  assert.ok((counts.get('n0') ?? 0) + (counts.get('n1') ?? 0) > (counts.get('n998') ?? 0) + (counts.get('n997') ?? 0), JSON.stringify([...counts].slice(0, 5)));
});
