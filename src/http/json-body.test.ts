import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../errors.js';
import { Hono } from 'hono';
import { checkJsonDepth, parseJsonBytes, parseJsonText, readJsonBody } from './json-body.js';

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

describe('request JSON bytes', () => {
  it('refuses bytes that are not UTF-8 in every JSON body alike, rather than replacing them', async () => {
    const bad = Uint8Array.from([...new TextEncoder().encode('{"content":"'), 0xff, 0xfe, 0xed, 0xa0, 0x80, ...new TextEncoder().encode('"}')]);
    assert.throws(() => parseJsonBytes(bad), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.InvalidJson && /not valid UTF-8/.test(e.message));
    const app = new Hono();
    app.post('/', async (c) => c.json(await readJsonBody(c)));
    app.onError((err, c) => c.json({ code: (err as WeftError).code }, 400));
    const res = await app.request('/', { method: 'POST', body: bad });
    assert.deepEqual([res.status, await res.json()], [400, { code: 'INVALID_JSON' }]);
    assert.deepEqual(await (await app.request('/', { method: 'POST', body: '{"content":"é"}' })).json(), { content: 'é' });
  });
});
