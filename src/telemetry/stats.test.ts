import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RollingStats, WINDOW_MS } from './stats.js';

describe('rolling stats', () => {
  it('reports rate, percentiles, batch size and joules per request over the window', () => {
    let clock = 0;
    const stats = new RollingStats(() => clock);
    stats.record('old', '', 999, 1, false);
    stats.energy('m', '', 1000);
    clock = WINDOW_MS + 1; // 'old' and its joules fall out of the window
    for (let i = 1; i <= 100; i++) stats.record('m', '', i, i % 2 === 0 ? 4 : 2, i === 100);
    // Joules settle apart from requests, as meter intervals close.
    for (let i = 0; i < 10; i++) stats.energy('m', '', 5);
    const [m, old] = [stats.snapshot().find((s) => s.model === 'm')!, stats.snapshot().find((s) => s.model === 'old')!];
    assert.equal(m.requests, 100);
    assert.equal(m.errors, 1);
    assert.equal(m.p50Ms, 50);
    assert.equal(m.p99Ms, 99);
    assert.equal(m.rate, 100 / 60);
    assert.equal(m.joulesPerRequest, 0.5);
    assert.equal(m.watts, 50 / 60);
    assert.ok(Math.abs(m.meanBatchSize - 2.9899) < 1e-3);
    assert.equal(old.requests, 0);
  });
});
