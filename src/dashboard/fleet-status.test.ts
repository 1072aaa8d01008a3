import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalFleet, statsInventory, type AppRuntime } from '../fleet/index.js';
import { fleetStatus } from './fleet-status.js';

test('a node alone (a fleet of one) or with no fleet at all has no fleet status: the view says single node', async () => {
  const runtime: AppRuntime = { deploy: () => Promise.reject(new Error('not used')), remove: () => Promise.resolve(), list: () => [] };
  const source = statsInventory({ budget: { cpu: 1000, cuda: 0 }, models: () => [], stats: () => ({ models: [], power: [{ watts: 12, source: 'estimated' }] }), bundles: async () => [], idleWatts: 10 });
  const identity = { node: 'solo', site: 'home', labels: {}, url: 'http://127.0.0.1:1', version: '0', powerBudget: undefined };
  const inspect = () => Promise.reject(new Error('not used'));
  const local = new LocalFleet({ identity, source, runtime, gpus: [], inspect, policy: 'spread', refreshMs: 60_000 });
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(local.nodes().fleet, false);
    assert.equal(local.nodes().nodes.length, 1, 'it lists itself, yet is no fleet');
    assert.equal(await fleetStatus(() => local)(), null);
    assert.equal(await fleetStatus(() => undefined)(), null);
  } finally {
    local.close();
  }
});
