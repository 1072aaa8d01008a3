import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../errors.js';
import { checkJsonDepth, parseJsonText } from './json-body.js';

describe('JSON nesting limit', () => {
  it('counts brackets outside strings only, and refuses past the limit with its code', () => {
    checkJsonDepth(`${'['.repeat(64)}${']'.repeat(64)}`);
    checkJsonDepth(JSON.stringify({ s: '['.repeat(1000) + '\\"[' }));
    assert.throws(() => checkJsonDepth(`{"a":${'['.repeat(65)}`), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.JsonTooDeep);
    assert.throws(() => checkJsonDepth('['.repeat(3), 2), /deeper than 2 levels/);
  });
});

describe('request JSON', () => {
  it('parses within the bound, and says where a body that is not JSON failed', () => {
    assert.deepEqual(parseJsonText('{"ready": true}'), { ready: true });
    assert.throws(() => parseJsonText('{\n  "ready": true,\n}'), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.InvalidJson && /^the request is not valid JSON: .*\(line 3 column 1\)$/.test(e.message));
    assert.throws(() => parseJsonText(`{"ready": ${'['.repeat(10)}`, 4), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.JsonTooDeep);
  });
});
