// Keys, scopes and limits without a server: hashing (never the key on disk), expiry, revocation
// seen through the file, scope wildcards, the token bucket and weighted fair admission.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { allows, KeyStore, KEYS_FILE, needOf, sharedKeySchema, TenantLimits, type SharedBuckets, type SharedKey, type SharedKeyRecords } from './index.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'weft-auth-'));
}

describe('scopes', () => {
  it('match names and wildcards, and nothing else', () => {
    assert.ok(allows(['infer:ppocr-*'], 'infer:ppocr-det'));
    assert.ok(allows(['infer:*'], 'infer:anything'));
    assert.ok(allows(['metrics'], 'metrics'));
    assert.ok(!allows(['infer:ppocr-*'], 'infer:other'));
    assert.ok(!allows(['infer:a.b'], 'infer:aXb'), 'a dot is a dot, not any character');
    assert.ok(!allows(['infer:*'], 'admin'));
    assert.ok(!allows(['metrics'], 'infer:x'));
  });

  it('are read off the path', () => {
    assert.deepEqual(needOf('GET', '/v2/health/live'), { kind: 'open' });
    assert.deepEqual(needOf('POST', '/v2/models/ppocr-det/versions/1/infer'), { kind: 'scope', scope: 'infer:ppocr-det', infer: true });
    assert.deepEqual(needOf('GET', '/v2/models/ppocr-det'), { kind: 'scope', scope: 'infer:ppocr-det', infer: false });
    assert.deepEqual(needOf('POST', '/v2/repository/models/x/unload'), { kind: 'scope', scope: 'admin', infer: false });
    assert.deepEqual(needOf('POST', '/apps/ocr/recognize'), { kind: 'scope', scope: 'infer:ocr', infer: true });
    assert.deepEqual(needOf('GET', '/metrics'), { kind: 'scope', scope: 'metrics', infer: false });
    assert.deepEqual(needOf('POST', '/v1/chat/completions'), { kind: 'body-model' });
    assert.deepEqual(needOf('GET', '/v2'), { kind: 'key' });
  });
});

describe('key store', () => {
  it('keeps only a keyed hash, authenticates, expires and revokes', async () => {
    const dir = tempDir();
    try {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const keys = await KeyStore.open({ dataDir: dir, clock: () => now });
      assert.equal(keys.enabled(), false);
      const { key, info } = await keys.create({ tenant: 'acme', scopes: ['infer:ppocr-*', 'metrics'], expiresAt: '2026-01-02T00:00:00Z', rate: 5 });
      assert.equal(keys.enabled(), true);
      const file = readFileSync(join(dir, KEYS_FILE), 'utf8');
      assert.ok(!file.includes(key) && !file.includes(key.slice('weft_'.length + 13) /* the secret after weft_<id>_ (base64url may hold '_') */), 'the key is not on disk');
      assert.equal(statSync(join(dir, KEYS_FILE)).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'caller-secret')).mode & 0o777, 0o600);
      assert.deepEqual(keys.authenticate(key), { id: info.id, tenant: 'acme', scopes: ['infer:ppocr-*', 'metrics'], rate: 5 });
      assert.equal(keys.authenticate(key + 'x'), undefined);
      // Another process (the CLI) opening the same folder sees the key and can revoke it.
      const other = await KeyStore.open({ dataDir: dir, clock: () => now });
      assert.ok(other.authenticate(key));
      await other.revoke(info.id);
      now += 1500; // past the reload check
      assert.equal(keys.authenticate(key), undefined, 'revoked through the file');
      const second = await keys.create({ tenant: 'acme', scopes: ['admin'], expiresAt: '2026-01-01T00:01:00Z' });
      assert.ok(keys.authenticate(second.key));
      now = Date.parse('2026-01-01T00:01:00Z');
      assert.equal(keys.authenticate(second.key), undefined, 'expired');
      await assert.rejects(keys.revoke('nope'), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.KeyNotFound);
      await assert.rejects(keys.create({ tenant: 'acme', scopes: ['infer'] }), (e: unknown) => e instanceof WeftError && e.field === 'scopes');
      await assert.rejects(keys.create({ tenant: 'a b', scopes: ['admin'] }), (e: unknown) => e instanceof WeftError && e.field === 'tenant');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes keys from config and the admin token, which cannot be revoked at run time', async () => {
    const dir = tempDir();
    try {
      const keys = await KeyStore.open({ dataDir: dir, configKeys: ['light:infer:*+metrics:light-secret'], adminToken: 'tok' });
      assert.deepEqual(keys.authenticate('tok')?.scopes, ['admin']);
      assert.deepEqual(keys.authenticate('light-secret')?.scopes, ['infer:*', 'metrics']);
      assert.ok(!JSON.stringify(keys.list()).includes('light-secret'));
      const id = keys.list().find((k) => k.tenant === 'light')!.id;
      await assert.rejects(keys.revoke(id), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.Conflict);
      await assert.rejects(KeyStore.open({ dataDir: dir, configKeys: ['no-scopes'] }), (e: unknown) => e instanceof WeftError && e.field === 'apiKey');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fleet keys', () => {
  /** The fleet's key bucket as a map (the real one, over JetStream, is tested in test/fleet-keys.test.ts). */
  function bucket(): SharedKeyRecords & { records: Map<string, SharedKey> } {
    const records = new Map<string, SharedKey>();
    return {
      records,
      get: (id) => records.get(id),
      list: () => [...records.values()],
      size: () => records.size,
      put: async (r) => void records.set(r.id, r),
      delete: async (id) => void records.delete(id),
    };
  }

  it('ask for a key until the fleet is joined, then live in the bucket as salted hashes', async () => {
    const dir = tempDir();
    try {
      const keys = await KeyStore.open({ dataDir: dir, fleet: true });
      assert.equal(keys.enabled(), true, 'no unauthenticated window before the fleet keys are known');
      await assert.rejects(keys.create({ tenant: 'acme', scopes: ['admin'] }), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.FleetUnavailable);
      const shared = bucket();
      keys.share(shared);
      assert.equal(keys.enabled(), false, 'a fleet without keys: auth is off (on loopback)');
      const { key, info } = await keys.create({ tenant: 'acme', scopes: ['infer:*'] });
      assert.equal(info.source, 'fleet');
      const record = shared.records.get(info.id)!;
      assert.ok(!JSON.stringify(record).includes(key.slice('weft_'.length + 13)), 'the bucket holds no key');
      assert.doesNotThrow(() => sharedKeySchema.parse(record));
      // Another node, its own secret, the same bucket: the key works there too.
      const otherDir = tempDir();
      try {
        const other = await KeyStore.open({ dataDir: otherDir, fleet: true });
        other.share(shared);
        assert.equal(other.authenticate(key)?.tenant, 'acme');
        assert.equal(other.authenticate(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), undefined, 'a near miss is refused');
        assert.equal(other.list().find((k) => k.id === info.id)?.source, 'fleet');
        await other.revoke(info.id);
        assert.equal(keys.authenticate(key), undefined, 'revoked on one node, refused on the other');
      } finally {
        rmSync(otherDir, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tenant limits', () => {
  const p = (tenant: string, extra = {}) => ({ id: tenant, tenant, scopes: ['infer:*'], ...extra });

  it('refuses past the rate with the wait, and refills', async () => {
    let now = 0;
    const limits = new TenantLimits({ rate: 2, concurrency: 0, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000, clock: () => now });
    await limits.takeRate(p('a'));
    await limits.takeRate(p('a'));
    await assert.rejects(limits.takeRate(p('a')), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.RateLimited && e.retryAfterSeconds === 1 && /2 requests\/s/.test(e.message));
    await limits.takeRate(p('b')); // another tenant has its own bucket
    now += 500;
    await limits.takeRate(p('a'));
  });

  it("charges a tenant's language-model tokens and refuses while the minute's budget is spent", async () => {
    let now = 0;
    const limits = new TenantLimits({ rate: 0, concurrency: 0, tokensPerMinute: 600, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000, clock: () => now });
    await limits.checkTokens(p('a'));
    await limits.chargeTokens(p('a'), 900); // a call may use more than was left: the tenant is in debt
    await assert.rejects(limits.checkTokens(p('a')), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.RateLimited && e.retryAfterSeconds === 31 && /600 language-model tokens per minute/.test(e.message));
    await limits.checkTokens(p('b')); // another tenant has its own budget
    await limits.checkTokens(p('c', { tokensPerMinute: 10 }));
    now += 31_000; // 310 tokens back: out of debt
    await limits.checkTokens(p('a'));
    const unlimited = new TenantLimits({ rate: 0, concurrency: 0, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000 });
    await unlimited.chargeTokens(p('a'), 1e9);
    await unlimited.checkTokens(p('a'));
  });

  it('takes request tokens from the shared buckets a few at a time, and counts alone while they fail', async () => {
    let now = 0;
    const takes: number[] = [];
    let failing = false;
    let level = 40;
    const shared: SharedBuckets = {
      take: async (_key, want) => {
        if (failing) throw new Error('unreachable');
        const taken = Math.min(want, Math.floor(level));
        level -= taken;
        takes.push(taken);
        return { taken, level };
      },
      charge: async () => level,
      level: async () => level,
    };
    const limits = new TenantLimits({ rate: 0, concurrency: 0, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000, clock: () => now });
    limits.share(shared);
    for (let i = 0; i < 4; i++) await limits.takeRate(p('a', { rate: 40 }));
    assert.deepEqual(takes, [2, 2], 'a twentieth of the rate per take: two takes for four requests');
    level = 0;
    await assert.rejects(limits.takeRate(p('a', { rate: 40 })), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.RateLimited);
    failing = true;
    await limits.takeRate(p('b', { rate: 1 })); // the fleet is out of reach: this node's own bucket
    await assert.rejects(limits.takeRate(p('b', { rate: 1 })), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.RateLimited);
    failing = false;
    now += 6000;
    level = 40;
    await limits.takeRate(p('b', { rate: 1 }));
    assert.equal(takes.at(-1), 1, 'shared again once the retry delay has passed');
  });

  it('caps a tenant in flight', async () => {
    const limits = new TenantLimits({ rate: 0, concurrency: 0, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000 });
    const release = await limits.admit(p('a', { concurrency: 1 }));
    await assert.rejects(limits.admit(p('a', { concurrency: 1 })), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.RateLimited);
    release();
    (await limits.admit(p('a', { concurrency: 1 })))();
  });

  it('admits waiting tenants round-robin, so a flood queues behind itself', async () => {
    const limits = new TenantLimits({ rate: 0, concurrency: 0, slots: 1, maxWaiting: 100, waitTimeoutMs: 10_000 });
    const order: string[] = [];
    const first = await limits.admit(p('heavy'));
    const waits = [...Array.from({ length: 5 }, () => 'heavy'), 'light'].map((t) => limits.admit(p(t)).then((release) => {
      order.push(t);
      release();
    }));
    first();
    await Promise.all(waits);
    assert.deepEqual(order.slice(0, 2), ['heavy', 'light'], `light waited behind one heavy request, not five: ${order.join(',')}`);
  });

  it('admits by --tenant-weight: a weight-4 tenant gets four turns to one', async () => {
    const limits = new TenantLimits({ rate: 0, concurrency: 0, slots: 1, maxWaiting: 100, waitTimeoutMs: 10_000, weights: new Map([['gold', 4]]) });
    assert.deepEqual(limits.shareOf(p('gold')), { tenant: 'gold', weight: 4 });
    assert.deepEqual(limits.shareOf(p('other')), { tenant: 'other', weight: 1 });
    const order: string[] = [];
    const first = await limits.admit(p('plain'));
    const waits = [...Array.from({ length: 4 }, () => 'plain'), ...Array.from({ length: 8 }, () => 'gold')].map((t) => limits.admit(p(t)).then((release) => {
      order.push(t);
      release();
    }));
    first();
    await Promise.all(waits);
    // Tags: plain 1, 2, 3, 4; gold 0.25 to 2 by 0.25; equal tags keep arrival order (plain first).
    assert.deepEqual(order.slice(0, 9), ['gold', 'gold', 'gold', 'plain', 'gold', 'gold', 'gold', 'gold', 'plain'], order.join(','));
  });

  it('bounds the waiting and lets an aborted wait go', async () => {
    const limits = new TenantLimits({ rate: 0, concurrency: 0, slots: 1, maxWaiting: 1, waitTimeoutMs: 10_000 });
    const first = await limits.admit(p('a'));
    const ac = new AbortController();
    const waiting = limits.admit(p('a'), ac.signal);
    await assert.rejects(limits.admit(p('a')), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.QueueFull);
    ac.abort();
    await assert.rejects(waiting, (e: unknown) => e instanceof WeftError && e.code === ErrorCode.Cancelled);
    first();
    (await limits.admit(p('b')))();
  });
});
