import assert from 'node:assert/strict';
import { test } from 'node:test';
import { place, type AppInput, type NodeView } from './placement.js';
import type { AppSpec } from './messages.js';

const MIB = 1024 ** 2;

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { node: name, site: 'a', labels: {}, gpus: 0, budget: { cpu: 1024 * MIB, cuda: 0 }, localBytes: 0, bundles: new Set(), draining: false, ...over };
}

function app(name: string, memoryBytes: number, over: Partial<AppSpec> = {}, target = 1): AppInput {
  const spec: AppSpec = {
    v: 1,
    name,
    ref: `reg/${name}:1`,
    digest: `sha256:${name}`,
    memoryBytes,
    models: [`${name}-m`],
    replicas: { min: target, max: target },
    require: [],
    select: {},
    createdAt: 0,
    ...over,
  };
  return { spec, current: undefined, target };
}

test('replicas go on distinct nodes that fit memory, and the rest is explained', () => {
  const nodes = [node('n1'), node('n2', { budget: { cpu: 100 * MIB, cuda: 0 } }), node('n3')];
  const out = place({ nodes, apps: [app('big', 600 * MIB, {}, 3)], policy: 'spread', now: 1 });
  const p = out.placements.get('big')!;
  assert.deepEqual(p.assigned.map((a) => a.node).sort(), ['n1', 'n3']);
  assert.equal(p.pending, '2/3 replicas placed; 0/3 nodes fit: 2 already run a replica, 1 lack memory (need 600.0 MiB)');
});

test('selectors, --require gpu and draining nodes are honoured, with the reasons counted', () => {
  const nodes = [node('cpu1', { labels: { role: 'gpu' } }), node('gpu1', { gpus: 1, budget: { cpu: 1024 * MIB, cuda: 8192 * MIB }, labels: { role: 'gpu' } }), node('gpu2', { gpus: 1, budget: { cpu: 1, cuda: 8192 * MIB }, draining: true }), node('x', { labels: { role: 'edge' } })];
  const out = place({ nodes, apps: [app('llm', 10 * MIB, { require: ['gpu'], select: { role: 'gpu' } }, 2)], policy: 'spread', now: 1 });
  const p = out.placements.get('llm')!;
  assert.deepEqual(p.assigned.map((a) => a.node), ['gpu1']);
  assert.match(p.pending, /^1\/2 replicas placed; 0\/4 nodes fit: /);
  assert.match(p.pending, /1 already run a replica/);
  assert.match(p.pending, /1 are draining/);
  assert.match(p.pending, /2 have no free GPU/);
});

test('memory is never double-booked: many apps at once stay within every budget', () => {
  const nodes = Array.from({ length: 5 }, (_, i) => node(`n${i}`, { budget: { cpu: (300 + i * 50) * MIB, cuda: 0 }, localBytes: 20 * MIB }));
  const apps = Array.from({ length: 40 }, (_, i) => app(`a${i}`, (30 + (i % 7) * 25) * MIB, {}, 1 + (i % 3)));
  for (const policy of ['spread', 'pack'] as const) {
    const out = place({ nodes, apps, policy, now: 1 });
    const used = new Map<string, number>(nodes.map((n) => [n.node, n.localBytes]));
    let placed = 0;
    for (const a of apps) {
      for (const r of out.placements.get(a.spec.name)!.assigned) {
        used.set(r.node, used.get(r.node)! + a.spec.memoryBytes);
        placed++;
      }
    }
    for (const n of nodes) assert.ok(used.get(n.node)! <= n.budget.cpu, `${policy}: ${n.node} uses ${used.get(n.node)} of ${n.budget.cpu}`);
    assert.ok(placed > 10, `${policy}: only ${placed} placed`);
  }
});

test('existing assignments are kept and count against the budget before new ones', () => {
  const nodes = [node('n1', { budget: { cpu: 100 * MIB, cuda: 0 } }), node('n2', { budget: { cpu: 100 * MIB, cuda: 0 } })];
  const first = app('a', 80 * MIB);
  first.current = { v: 1, app: 'a', digest: 'sha256:a', ref: 'reg/a:1', target: 1, assigned: [{ node: 'n2', at: 0 }], pending: '', failed: {}, scaledAt: 0 };
  const out = place({ nodes, apps: [first, app('b', 80 * MIB)], policy: 'spread', now: 1 });
  assert.deepEqual(out.placements.get('a')!.assigned, [{ node: 'n2', at: 0 }]);
  assert.deepEqual(out.placements.get('b')!.assigned.map((a) => a.node), ['n1']);
});

test('a node drawing its power budget keeps its replicas but takes no new one, and says so', () => {
  const nodes = [node('hot', { atPowerBudget: true }), node('cool')];
  const kept = app('a', 10 * MIB, {}, 2);
  kept.current = { v: 1, app: 'a', digest: 'sha256:a', ref: 'reg/a:1', target: 2, assigned: [{ node: 'hot', at: 0 }], pending: '', failed: {}, scaledAt: 0 };
  const out = place({ nodes, apps: [kept, app('b', 10 * MIB, {}, 2)], policy: 'pack', now: 1 });
  assert.deepEqual(out.placements.get('a')!.assigned.map((a) => a.node), ['hot', 'cool']);
  const b = out.placements.get('b')!;
  assert.deepEqual(b.assigned.map((a) => a.node), ['cool']);
  assert.equal(b.pending, '1/2 replicas placed; 0/2 nodes fit: 1 already run a replica, 1 draw their power budget');
});

test('a replica on a node gone or draining is placed again elsewhere; failed nodes are skipped', () => {
  const nodes = [node('n1'), node('n3'), node('n4', { draining: true })];
  const a = app('a', 10 * MIB, {}, 2);
  a.current = { v: 1, app: 'a', digest: 'sha256:a', ref: 'reg/a:1', target: 2, assigned: [{ node: 'n2', at: 0 }, { node: 'n4', at: 0 }], pending: '', failed: { n1: 'pull failed' }, scaledAt: 0 };
  const p = place({ nodes, apps: [a], policy: 'spread', now: 5 }).placements.get('a')!;
  assert.deepEqual(p.assigned.map((x) => x.node), ['n3']);
  assert.match(p.pending, /1 failed to load it/);
});

test('--spread site puts replicas in different sites; --prefer-site wins when it fits', () => {
  const nodes = [node('a1', { site: 'a' }), node('a2', { site: 'a' }), node('b1', { site: 'b' }), node('c1', { site: 'c', budget: { cpu: 2048 * MIB, cuda: 0 } })];
  const spread = place({ nodes, apps: [app('s', 10 * MIB, { spread: 'site' }, 3)], policy: 'spread', now: 1 }).placements.get('s')!;
  assert.deepEqual(new Set(spread.assigned.map((x) => x.node[0])), new Set(['a', 'b', 'c']));
  const prefer = place({ nodes, apps: [app('p', 10 * MIB, { preferSite: 'a' }, 1)], policy: 'spread', now: 1 }).placements.get('p')!;
  assert.equal(prefer.assigned[0]!.node[0], 'a');
});

test('nodes that hold the bundle are preferred', () => {
  const nodes = [node('n1'), node('n2', { bundles: new Set(['sha256:a']) })];
  assert.equal(place({ nodes, apps: [app('a', MIB)], policy: 'spread', now: 1 }).placements.get('a')!.assigned[0]!.node, 'n2');
});

test('pack uses as few nodes as fit and leaves the rest idle; spread uses them all', () => {
  const nodes = Array.from({ length: 6 }, (_, i) => node(`n${i}`));
  const apps = Array.from({ length: 6 }, (_, i) => app(`a${i}`, 100 * MIB));
  const pack = place({ nodes, apps, policy: 'pack', now: 1 });
  const spread = place({ nodes, apps, policy: 'spread', now: 1 });
  assert.equal(pack.idle.length, 5);
  assert.equal(spread.idle.length, 0);
});

test('on a large fleet a scan stops once enough nodes fit, rotating over the fleet, and still fits every budget', () => {
  const nodes = Array.from({ length: 600 }, (_, i) => node(`n${String(i).padStart(3, '0')}`, { budget: { cpu: 250 * MIB, cuda: 0 } }));
  const apps = Array.from({ length: 50 }, (_, i) => app(`a${i}`, 100 * MIB, {}, 2));
  const out = place({ nodes, apps, policy: 'spread', now: 1, scoreLimit: 16 });
  const used = new Map<string, number>();
  for (const p of out.placements.values()) {
    assert.equal(p.assigned.length, 2);
    for (const a of p.assigned) used.set(a.node, (used.get(a.node) ?? 0) + 100 * MIB);
  }
  for (const bytes of used.values()) assert.ok(bytes <= 250 * MIB);
  // Rotation: the scans did not all pick from the first few nodes.
  assert.ok(used.size >= 90, `only ${used.size} nodes used`);
  const impossible = place({ nodes, apps: [app('huge', 300 * MIB)], policy: 'spread', now: 1, scoreLimit: 16 }).placements.get('huge')!;
  assert.equal(impossible.pending, '0/1 replicas placed; 0/600 nodes fit: 600 lack memory (need 300.0 MiB)');
});

test('--spread site never puts two replicas of an app on one node', () => {
  const nodes = [node('a1', { site: 'a' }), node('b1', { site: 'b' })];
  const out = place({ nodes, apps: [app('sum', 10 * MIB, { spread: 'site' }, 3)], policy: 'spread', now: 1 });
  const p = out.placements.get('sum')!;
  assert.deepEqual(p.assigned.map((a) => a.node).sort(), ['a1', 'b1']);
  assert.match(p.pending, /^2\/3 replicas placed; 0\/2 nodes fit: 2 already run a replica/);
});

test('pack consolidates after the load dropped: a replica moves to an awake node, make before break', () => {
  const placed = (name: string, nodes: string[]): AppInput => {
    const input = app(name, 10 * MIB);
    input.current = { v: 1, app: name, digest: input.spec.digest, ref: input.spec.ref, target: 1, assigned: nodes.map((n) => ({ node: n, at: 0 })), pending: '', failed: {}, scaledAt: 0 };
    return input;
  };
  const nodes = (readyOnN2: string[]) => [node('n1', { ready: new Set(['a']) }), node('n2', { ready: new Set(readyOnN2) }), node('n3')];
  // a on n1 and b on n2, one replica each: n1 (fewest replicas, first by name) is emptied onto n2.
  const first = place({ nodes: nodes(['b']), apps: [placed('a', ['n1']), placed('b', ['n2'])], policy: 'pack', now: 1 });
  assert.deepEqual(first.placements.get('a')!.assigned, [{ node: 'n1', at: 0, leaving: true }, { node: 'n2', at: 1 }]);
  assert.deepEqual(first.placements.get('b')!.assigned.map((a) => a.node), ['n2']);
  assert.deepEqual(first.idle, ['n3'], 'n1 still serves a until its successor is ready');
  const next = (readyOnN2: string[]) => {
    const apps = ['a', 'b'].map((name) => ({ ...app(name, 10 * MIB), current: first.placements.get(name)! }));
    return place({ nodes: nodes(readyOnN2), apps, policy: 'pack', now: 2 });
  };
  // The successor is not ready yet: n1 keeps serving, and nothing else moves meanwhile.
  const waiting = next(['b']);
  assert.deepEqual(waiting.placements.get('a')!.assigned.map((a) => [a.node, a.leaving === true]).sort(), [['n1', true], ['n2', false]]);
  // Ready: the leaving replica goes and n1 can sleep; n2, the last awake node, stays as it is.
  const done = next(['a', 'b']);
  assert.deepEqual(done.placements.get('a')!.assigned.map((a) => a.node), ['n2']);
  assert.deepEqual(done.idle.sort(), ['n1', 'n3']);
  // spread never moves running replicas.
  const spread = place({ nodes: nodes(['b']), apps: [placed('a', ['n1']), placed('b', ['n2'])], policy: 'spread', now: 1 });
  assert.deepEqual(spread.placements.get('a')!.assigned.map((a) => a.node), ['n1']);
});

test('pack moves nothing when the replicas would not fit elsewhere with headroom', () => {
  const tight = [node('n1', { budget: { cpu: 100 * MIB, cuda: 0 } }), node('n2', { budget: { cpu: 100 * MIB, cuda: 0 } })];
  const placed = (name: string, on: string): AppInput => {
    const input = app(name, 60 * MIB);
    input.current = { v: 1, app: name, digest: input.spec.digest, ref: input.spec.ref, target: 1, assigned: [{ node: on, at: 0 }], pending: '', failed: {}, scaledAt: 0 };
    return input;
  };
  // 60 MiB on each: neither fits beside the other (and 10% headroom) — nothing moves.
  const out = place({ nodes: tight, apps: [placed('a', 'n1'), placed('b', 'n2')], policy: 'pack', now: 1 });
  assert.deepEqual([...out.placements.values()].flatMap((p) => p.assigned.map((a) => [a.node, a.leaving === true])), [['n1', false], ['n2', false]]);
});
