import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RollingStats, WINDOW_MS } from './stats.js';

describe('rolling stats', () => {
  it('reports rate, percentiles, batch size and joules per request over the window', () => {
    let clock = 0;
    const stats = new RollingStats(() => clock);
    stats.record('old', '', 999, 1, 0, false);
    clock = WINDOW_MS + 1; // 'old' falls out of the window
    for (let i = 1; i <= 100; i++) stats.record('m', '', i, i % 2 === 0 ? 4 : 2, 0.5, i === 100);
    const [m, old] = [stats.snapshot().find((s) => s.model === 'm')!, stats.snapshot().find((s) => s.model === 'old')!];
    assert.equal(m.requests, 100);
    assert.equal(m.errors, 1);
    assert.equal(m.p50Ms, 50);
    assert.equal(m.p99Ms, 99);
    assert.equal(m.rate, 100 / 60);
    assert.equal(m.joulesPerRequest, 0.5);
    assert.ok(Math.abs(m.meanBatchSize - 2.9899) < 1e-3);
    assert.equal(old.requests, 0);
  });
});
