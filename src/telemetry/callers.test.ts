import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftError } from '../errors.js';
import { Callers, OTHER, ANONYMOUS, CALLER_SECRET_FILE, callerId, loadCallerSecret } from './callers.js';

const SECRET = Buffer.alloc(32, 7);

describe('per-caller aggregates', () => {
  it('names callers by a keyed hash of tenant or key, never storing them', () => {
    const callers = new Callers(5, SECRET);
    const a = callers.label('acme', undefined);
    assert.equal(a, createHmac('sha256', SECRET).update('tenant:acme').digest('hex').slice(0, 12));
    assert.equal(callers.label('acme', 'Bearer other'), a);
    const key = callers.label(undefined, 'Bearer sk-secret');
    assert.equal(callers.label(undefined, 'sk-secret'), key);
    assert.equal(key, callerId(SECRET, 'key:sk-secret'));
    assert.notEqual(key, a);
    assert.equal(callers.label(undefined, undefined), ANONYMOUS);
    assert.ok(!JSON.stringify(callers.top()).includes('acme'));
    // Another node key gives other ids: an id cannot be checked against a guessed tenant.
    assert.notEqual(new Callers(5, Buffer.alloc(32, 8)).label('acme', undefined), a);
  });

  it('gives the first k callers their own label and the rest "other"', () => {
    const callers = new Callers(3, SECRET);
    const labels = Array.from({ length: 10 }, (_, i) => callers.label(`t${i}`, undefined));
    assert.equal(new Set(labels.slice(0, 3)).size, 3);
    assert.ok(labels.slice(3).every((l) => l === OTHER));
    assert.equal(callers.label('t1', undefined), labels[1]);
    for (const l of labels) callers.get(l)!.requests++;
    assert.equal(callers.top()[0]!.caller, OTHER);
    assert.equal(callers.top().length, 4);
  });

  it('maps the tenants named in config to their ids', () => {
    const callers = new Callers(5, SECRET, ['zeta', 'acme']);
    assert.deepEqual(callers.names(), [
      { tenant: 'acme', caller: callerId(SECRET, 'tenant:acme') },
      { tenant: 'zeta', caller: callerId(SECRET, 'tenant:zeta') },
    ]);
    const id = callers.label('acme', undefined);
    callers.label('stranger', undefined);
    assert.deepEqual(
      callers.top().map((c) => c.name),
      ['acme', undefined],
    );
    assert.equal(callers.get(id)!.name, 'acme');
  });

  it('creates the node key once in the data folder and keeps it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-callers-'));
    try {
      const data = join(dir, 'data');
      const [a, b] = await Promise.all([loadCallerSecret(data), loadCallerSecret(data)]);
      assert.equal(a.length, 32);
      assert.deepEqual(a, b);
      assert.deepEqual(await loadCallerSecret(data), a);
      const file = join(data, CALLER_SECRET_FILE);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await readFile(file, 'utf8')).trim(), a.toString('hex'));
      await writeFile(file, 'garbage\n');
      await assert.rejects(loadCallerSecret(data), (err: unknown) => err instanceof WeftError && err.code === 'INVALID_CONFIG' && /caller-secret/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
