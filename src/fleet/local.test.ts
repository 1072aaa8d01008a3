import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inventory } from './inventory.js';
import { LocalFleet } from './local.js';
import type { AppRuntime, InventorySource } from './seams.js';
import { statsInventory } from './stats-source.js';

const runtime: AppRuntime = {
  deploy: () => Promise.reject(new Error('not used')),
  remove: () => Promise.resolve(),
  list: () => [{ name: 'ocr', version: '1.0.0', digest: 'sha256:1', ref: 'registry.example/ocr:1', models: ['det'], signedBy: [] }],
};

test('a node without --fleet is a fleet of one: it lists itself and its apps, and refuses fleet deploys', async () => {
  const source: InventorySource = statsInventory({
    budget: { cpu: 1000, cuda: 0 },
    models: () => [{ name: 'det', device: 'cpu', memoryBytes: 300 }, { name: 'own', device: 'cpu', memoryBytes: 100 }],
    stats: () => ({ models: [{ model: 'det', queued: 2, inflight: 1, p50Ms: 3, p99Ms: 9, rate: 5, joulesPerRequest: 0.5 }], power: [{ watts: 12, source: 'measured' }] }),
    bundles: async () => ['sha256:1'],
    idleWatts: 10,
  });
  const inventory = new Inventory({ node: 'solo', site: 'home', labels: { a: 'b' }, url: 'http://127.0.0.1:1', version: '0', powerBudget: 50 }, source, runtime, [], () => []);
  const fleet = new LocalFleet(inventory, runtime, 'spread', 60_000);
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
    assert.deepEqual(fleet.apps().map((a) => [a.name, a.health]), [['ocr', 'healthy']]);
    await assert.rejects(fleet.deploy({ ref: 'x' }), { code: 'FLEET_DISABLED' });
    assert.throws(() => fleet.status('nope'), { code: 'APP_NOT_FOUND' });
  } finally {
    fleet.close();
  }
});
