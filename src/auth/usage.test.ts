import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { createLogger } from '../telemetry/index.js';
import { MonthlyUsage, TenantLimits, USAGE_FILE, monthOf, nextMonthAt, type SharedUsage } from './index.js';

const log = createLogger('error', () => undefined);
const p = (tenant: string, extra = {}) => ({ id: tenant, tenant, scopes: ['infer:*'], ...extra });

describe('monthly usage', () => {
  it('names calendar months in UTC and when the next begins', () => {
    assert.equal(monthOf(Date.UTC(2026, 11, 31, 23, 59)), '2026-12');
    assert.equal(monthOf(Date.UTC(2027, 0, 1)), '2027-01');
    assert.equal(nextMonthAt(Date.UTC(2026, 11, 4, 12)), Date.UTC(2027, 0, 1));
  });

  it('keeps a month across restarts in the data dir, and starts the next at zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-usage-'));
    try {
      let now = Date.UTC(2026, 11, 4);
      const first = MonthlyUsage.open(dir, log, () => now);
      first.add('acme', 'tokens', 120);
      first.add('acme', 'joules', 3.5);
      first.add('acme', 'tokens', 0); // nothing
      first.add('beta', 'joules', Number.NaN); // nothing
      assert.equal(await first.used('acme', 'tokens'), 120, 'counted at once, before any write');
      await first.close();
      const file = JSON.parse(readFileSync(join(dir, USAGE_FILE), 'utf8'));
      assert.deepEqual(file, { v: 1, month: '2026-12', tenants: { acme: { tokens: 120, joules: 3.5 } } });

      const second = MonthlyUsage.open(dir, log, () => now);
      assert.equal(await second.used('acme', 'tokens'), 120);
      assert.equal(await second.used('acme', 'joules'), 3.5);
      assert.equal(await second.used('beta', 'joules'), 0);
      now = Date.UTC(2027, 0, 1, 0, 0, 1);
      assert.equal(await second.used('acme', 'tokens'), 0, 'a new month starts at zero');
      second.add('acme', 'tokens', 5);
      await second.close();
      assert.equal(JSON.parse(readFileSync(join(dir, USAGE_FILE), 'utf8')).month, '2027-01');
      assert.equal(await MonthlyUsage.open(dir, log, () => now).used('acme', 'tokens'), 5);

      writeFileSync(join(dir, USAGE_FILE), '{"v":1,"month":');
      assert.equal(await MonthlyUsage.open(dir, log, () => now).used('acme', 'tokens'), 0, 'a torn file starts the month at zero');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds to the shared counters once each, and keeps what they could not take for the next flush', async () => {
    const totals = new Map<string, number>();
    let failing = false;
    const adds: Array<[string, number]> = [];
    const shared: SharedUsage = {
      add: async (key, amount) => {
        if (failing) throw new Error('unreachable');
        if (amount > 0) adds.push([key, amount]);
        totals.set(key, (totals.get(key) ?? 0) + amount);
        return totals.get(key)!;
      },
    };
    const now = Date.UTC(2026, 11, 4);
    const usage = MonthlyUsage.open(undefined, log, () => now);
    usage.share(shared);
    totals.set('joules.2026-12.acme', 10); // another node's use
    usage.add('acme', 'joules', 2);
    assert.equal(await usage.used('acme', 'joules'), 12, "the fleet's total and what is not sent yet");
    failing = true;
    await usage.flush();
    assert.deepEqual(adds, []);
    assert.equal(await usage.used('acme', 'joules'), 12, 'kept while the counters are out of reach');
    failing = false;
    usage.add('acme', 'joules', 1);
    await usage.flush();
    await usage.flush();
    assert.deepEqual(adds, [['joules.2026-12.acme', 3]], 'sent once, together');
    assert.equal(await usage.used('acme', 'joules'), 13);
    await usage.close();
  });

  it('refuses a tenant whose monthly budget is spent until the month turns, naming the budget', async () => {
    let now = Date.UTC(2026, 11, 31, 23, 0);
    const usage = MonthlyUsage.open(undefined, log, () => now);
    const limits = new TenantLimits({ rate: 0, concurrency: 0, monthlyJoules: 50, usage, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000, clock: () => now });
    await limits.checkMonthly(p('a'), false);
    limits.chargeJoules(p('a'), 60);
    await assert.rejects(limits.checkMonthly(p('a'), false), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.QuotaExceeded && e.field === 'monthlyJoules' && e.retryAfterSeconds === 3600 && /monthly budget of 50 J \(60 this month\)/.test(e.message));
    await limits.checkMonthly(p('b'), false); // another tenant has its own
    await limits.checkMonthly(p('a', { monthlyJoules: 100 }), false); // a key's own budget wins

    // Tokens: charged with the per-minute budget's charge, checked for language-model calls only.
    await limits.chargeTokens(p('c', { monthlyTokens: 10 }), 10);
    await limits.checkMonthly(p('c', { monthlyTokens: 10, monthlyJoules: 1e9 }), false);
    await assert.rejects(limits.checkMonthly(p('c', { monthlyTokens: 10, monthlyJoules: 1e9 }), true), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.QuotaExceeded && /10 language-model tokens/.test(e.message));
    now = Date.UTC(2027, 0, 1);
    await limits.checkMonthly(p('a'), false);
    await limits.checkMonthly(p('c', { monthlyTokens: 10 }), true);
  });
});
