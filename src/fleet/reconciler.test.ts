import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployedApp } from '../apps/index.js';
import { createLogger } from '../telemetry/index.js';
import type { Placement } from './messages.js';
import { Reconciler } from './reconciler.js';
import type { AppRuntime } from './seams.js';

const log = createLogger('error', () => undefined);

/** The apps module as the reconciler sees it: deploys and removes, recorded. */
function runtime(): AppRuntime & { calls: string[] } {
  const apps = new Map<string, DeployedApp>();
  const calls: string[] = [];
  return {
    calls,
    deploy: async (ref) => {
      calls.push(`deploy ${ref}`);
      const app = { name: 'ocr', version: '1', digest: 'sha256:a', ref, models: [], signedBy: [] };
      apps.set(app.name, app);
      return app;
    },
    remove: async (name) => {
      calls.push(`remove ${name}`);
      apps.delete(name);
    },
    list: () => [...apps.values()],
  };
}

const placed = (...nodes: string[]): Placement => ({ v: 1, app: 'ocr', digest: 'sha256:a', ref: 'reg/ocr:1', target: 1, assigned: nodes.map((node) => ({ node, at: 0 })), pending: '', failed: {}, scaledAt: 0 });

describe('reconciler', () => {
  it('holds a ready replica placed elsewhere while this node was cut off, and keeps it when the scheduler places it back', async () => {
    let now = 0;
    let cutOff = false;
    let placements = [placed('e')];
    const apps = runtime();
    const r = new Reconciler('e', apps, () => placements, () => undefined, log, { cutOffLately: () => cutOff, graceMs: 10_000, clock: () => now });
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1']);
    assert.equal(r.reports()[0]?.state, 'ready');

    // The uplink came back: the placements read now were made without this node.
    cutOff = true;
    placements = [placed('h')];
    await r.kick();
    now += 4_000;
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1'], 'held, still serving');
    // Seeing the node alive again, the scheduler places the replica back: nothing reloads.
    placements = [placed('e')];
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1']);
    assert.equal(r.reports()[0]?.state, 'ready');

    // Placed elsewhere for good: removed once the grace has passed.
    placements = [placed('h')];
    await r.kick();
    now += 10_000;
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1', 'remove ocr']);
  });

  it('removes a replica placed elsewhere at once on a node that was not cut off, and an undeployed one at once either way', async () => {
    let placements = [placed('e')];
    let cutOff = false;
    const apps = runtime();
    const r = new Reconciler('e', apps, () => placements, () => undefined, log, { cutOffLately: () => cutOff, graceMs: 10_000 });
    await r.kick();
    placements = [placed('h')]; // scaled down or moved: no hold
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1', 'remove ocr']);
    placements = [placed('e')];
    await r.kick();
    cutOff = true;
    placements = []; // undeployed
    await r.kick();
    assert.deepEqual(apps.calls, ['deploy reg/ocr:1', 'remove ocr', 'deploy reg/ocr:1', 'remove ocr']);
  });
});
