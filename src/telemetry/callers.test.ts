import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Callers, OTHER, ANONYMOUS } from './callers.js';

describe('per-caller aggregates', () => {
  it('hashes tenants and keys, never storing them', () => {
    const callers = new Callers(5);
    const a = callers.label('acme', undefined);
    assert.match(a, /^[0-9a-f]{12}$/);
    assert.equal(callers.label('acme', 'Bearer other'), a);
    const key = callers.label(undefined, 'Bearer sk-secret');
    assert.equal(callers.label(undefined, 'sk-secret'), key);
    assert.notEqual(key, a);
    assert.equal(callers.label(undefined, undefined), ANONYMOUS);
    assert.ok(!JSON.stringify(callers.top()).includes('acme'));
  });

  it('gives the first k callers their own label and the rest "other"', () => {
    const callers = new Callers(3);
    const labels = Array.from({ length: 10 }, (_, i) => callers.label(`t${i}`, undefined));
    assert.equal(new Set(labels.slice(0, 3)).size, 3);
    assert.ok(labels.slice(3).every((l) => l === OTHER));
    assert.equal(callers.label('t1', undefined), labels[1]);
    for (const l of labels) callers.get(l).requests++;
    assert.equal(callers.top()[0]!.caller, OTHER);
    assert.equal(callers.top().length, 4);
  });
});
