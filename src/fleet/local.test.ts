import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeployedApp } from '../apps/index.js';
import { LocalFleet } from './local.js';
import type { AppRuntime, BundleFacts, InventorySource } from './seams.js';
import { statsInventory } from './stats-source.js';

const identity = { node: 'solo', site: 'home', labels: { a: 'b' }, url: 'http://127.0.0.1:1', version: '0', powerBudget: 50 };

/** The apps module's deployer as the fleet sees it, in memory: a load takes `loadMs`, `bad*` refs fail. */
class MemoryRuntime implements AppRuntime {
  readonly apps: DeployedApp[] = [];
  readonly deploys: string[] = [];
  constructor(private readonly loadMs = 0) {}
  async deploy(ref: string): Promise<DeployedApp> {
    this.deploys.push(ref);
    await new Promise((r) => setTimeout(r, this.loadMs));
    if (ref.startsWith('bad')) throw new Error(`cannot load ${ref}`);
    const app = { name: nameOf(ref), version: '1', digest: digestOf(ref), ref, models: [`${nameOf(ref)}-m`], signedBy: [] };
    this.apps.push(app);
    return app;
  }
  async remove(name: string): Promise<void> {
    const i = this.apps.findIndex((a) => a.name === name);
    if (i >= 0) this.apps.splice(i, 1);
  }
  list(): DeployedApp[] {
    return [...this.apps];
  }
}

// A ref `name@digest#bytes` names what the inspector reads from it.
const nameOf = (ref: string) => ref.split('@')[0]!;
const digestOf = (ref: string) => `sha256:${ref.split('@')[1]!.split('#')[0]}`;
const inspect = async (ref: string): Promise<BundleFacts> => ({ name: nameOf(ref), digest: digestOf(ref), memoryBytes: Number(ref.split('#')[1] ?? 100), gpu: undefined, labels: {}, models: [`${nameOf(ref)}-m`] });

function sourceFor(runtime: MemoryRuntime, ownBytes = 0): InventorySource {
  return statsInventory({
    budget: { cpu: 1000, cuda: 0 },
    models: () => [...runtime.apps.map((a) => ({ name: a.models[0]!, device: 'cpu' as const, memoryBytes: Number(a.ref.split('#')[1] ?? 100) })), ...(ownBytes > 0 ? [{ name: 'own', device: 'cpu' as const, memoryBytes: ownBytes }] : [])],
    stats: () => ({ models: [{ model: 'own', queued: 2, inflight: 1, p50Ms: 3, p99Ms: 9, rate: 5, joulesPerRequest: 0.5 }], power: [{ watts: 12, source: 'measured' }] }),
    bundles: async () => ['sha256:1'],
    idleWatts: 10,
  });
}

function fleetOf(runtime: MemoryRuntime, ownBytes = 0): LocalFleet {
  return new LocalFleet({ identity, source: sourceFor(runtime, ownBytes), runtime, gpus: [], inspect, policy: 'spread', refreshMs: 60_000 });
}

test('a node without --fleet is a fleet of one: it lists itself and the apps it was started with', async () => {
  const runtime = new MemoryRuntime();
  await runtime.deploy('ocr@1#300');
  const fleet = fleetOf(runtime, 100);
  try {
    await new Promise((r) => setTimeout(r, 50));
    const nodes = fleet.nodes();
    assert.equal(nodes.fleet, false);
    assert.equal(nodes.nodes.length, 1);
    const r = nodes.nodes[0]!.record;
    assert.equal(r.node, 'solo');
    assert.deepEqual(r.free, { cpu: 600, cuda: 0 });
    // No replica is the fleet's here: every model counts as the node's own.
    assert.equal(r.localBytes, 400);
    assert.deepEqual(r.power, { watts: 12, source: 'measured', measured: true, budgetWatts: 50 });
    assert.equal(r.load[0]!.queued, 2);
    assert.deepEqual(fleet.apps().map((a) => [a.name, a.ref, a.health]), [['ocr', 'ocr@1#300', 'healthy']]);
    assert.throws(() => fleet.status('nope'), { code: 'APP_NOT_FOUND' });
  } finally {
    fleet.close();
  }
});

test('weft deploy on a node alone: placed here, the same spec again is no change, another spec under the name is refused, undeploy removes it', async () => {
  const runtime = new MemoryRuntime();
  const fleet = fleetOf(runtime);
  try {
    const first = await fleet.deploy({ ref: 'alpha@a1#200' });
    assert.equal(first.created, true);
    assert.deepEqual(first.app.placed, [{ node: 'solo', site: 'home', state: 'ready' }]);
    assert.equal(first.app.health, 'healthy');
    assert.deepEqual(runtime.list().map((a) => a.name), ['alpha']);
    // Its models are the fleet's now, not the node's own.
    assert.equal(fleet.nodes().nodes[0]!.record.localBytes, 0);

    const again = await fleet.deploy({ ref: 'alpha@a1#200' });
    assert.equal(again.created, false);
    assert.deepEqual(runtime.deploys, ['alpha@a1#200'], 'no second load');
    await assert.rejects(fleet.deploy({ ref: 'alpha@a1#200', replicas: 2 }), { code: 'APP_EXISTS', message: /already deployed on this node \(from alpha@a1#200, sha256:a1\)/ });
    await assert.rejects(fleet.deploy({ ref: 'alpha@a2#200' }), { code: 'APP_EXISTS' });

    await fleet.undeploy('alpha');
    assert.deepEqual(runtime.list(), []);
    assert.deepEqual(fleet.apps(), []);
    await assert.rejects(fleet.undeploy('alpha'), { code: 'APP_NOT_FOUND' });
  } finally {
    fleet.close();
  }
});

test('replicas beyond the one a node holds stay pending with the reason; what cannot fit is refused before anything loads', async () => {
  const runtime = new MemoryRuntime();
  const fleet = fleetOf(runtime, 300);
  try {
    const three = await fleet.deploy({ ref: 'wide@w#100', replicas: 3 });
    assert.deepEqual(three.app.replicas, { min: 3, max: 3, target: 3, ready: 1 });
    assert.equal(three.app.health, 'degraded');
    assert.match(three.app.pending, /^1\/3 replicas placed; 0\/1 nodes fit: 1 already run a replica/);

    // 300 of the node's own and 100 placed leave 600 of the 1000-byte budget.
    await assert.rejects(fleet.deploy({ ref: 'huge@h#700' }), { code: 'UNSCHEDULABLE', message: /cannot run on this node: 0\/1 nodes fit: 1 lack memory \(need 700 B\)/ });
    await assert.rejects(fleet.deploy({ ref: 'gpu@g#10', require: ['gpu'] }), { code: 'UNSCHEDULABLE', message: /1 have no free GPU/ });
    await assert.rejects(fleet.deploy({ ref: 'picky@p#10', select: { role: 'edge' } }), { code: 'UNSCHEDULABLE' });
    assert.deepEqual(runtime.deploys, ['wide@w#100'], 'nothing refused was loaded');
  } finally {
    fleet.close();
  }
});

test('two deploys at once never book the same memory; a load that fails leaves nothing behind', async () => {
  const runtime = new MemoryRuntime(30);
  const fleet = fleetOf(runtime);
  try {
    // Each fits the 1000-byte budget alone, not both: the second is checked against the first's reservation while it loads.
    const results = await Promise.allSettled([fleet.deploy({ ref: 'one@1#600' }), fleet.deploy({ ref: 'two@2#600' })]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
    assert.equal((results[1] as PromiseRejectedResult).reason.code, 'UNSCHEDULABLE');
    assert.deepEqual(runtime.list().map((a) => a.name), ['one']);

    await assert.rejects(fleet.deploy({ ref: 'bad@3#10' }), /cannot load bad@3#10/);
    assert.deepEqual(fleet.apps().map((a) => a.name), ['one']);
    // An undeploy during a load waits for it, then removes the app.
    const loading = fleet.deploy({ ref: 'slow@4#10' });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(fleet.status('slow').placed[0]!.state, 'loading');
    await fleet.undeploy('slow');
    await assert.rejects(loading, { code: 'CONFLICT', message: /undeployed while it loaded/ });
    assert.deepEqual(runtime.list().map((a) => a.name), ['one']);
  } finally {
    fleet.close();
  }
});

test('an app the node was started with can be adopted by a deploy of the same bundle and undeployed', async () => {
  const runtime = new MemoryRuntime();
  await runtime.deploy('ocr@1#300');
  const fleet = fleetOf(runtime);
  try {
    await assert.rejects(fleet.deploy({ ref: 'ocr@2#300' }), { code: 'APP_EXISTS', message: /already served by this node \(sha256:1\)/ });
    const adopted = await fleet.deploy({ ref: 'ocr@1#300' });
    assert.equal(adopted.created, true);
    assert.equal(adopted.app.health, 'healthy');
    assert.deepEqual(runtime.deploys, ['ocr@1#300'], 'not loaded twice');
    await fleet.undeploy('ocr');
    assert.deepEqual(runtime.list(), []);
  } finally {
    fleet.close();
  }
});
