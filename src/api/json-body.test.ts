import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../errors.js';
import { checkJsonDepth } from './json-body.js';

describe('JSON nesting limit', () => {
  it('counts brackets outside strings only, and refuses past the limit with its code', () => {
    checkJsonDepth(`${'['.repeat(64)}${']'.repeat(64)}`);
    checkJsonDepth(JSON.stringify({ s: '['.repeat(1000) + '\\"[' }));
    assert.throws(() => checkJsonDepth(`{"a":${'['.repeat(65)}`), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.JsonTooDeep);
    assert.throws(() => checkJsonDepth('['.repeat(3), 2), /deeper than 2 levels/);
  });
});
