import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { ReplayedRequest } from './replayed-request.js';

const bytes = (text: string) => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
const post = (text: string) => new ReplayedRequest('http://weft.fleet/echo', { method: 'POST', headers: { 'content-type': 'application/json' } }, bytes(text));

describe('a replayed request', () => {
  it('reads as the body it was given, through Hono as a route would', async () => {
    const app = new Hono();
    app.post('/echo', async (c) => c.json({ got: await c.req.json(), used: c.req.raw.bodyUsed }));
    const res = await app.fetch(post('{"a":[1,2]}'));
    assert.deepEqual(await res.json(), { got: { a: [1, 2] }, used: true });
  });

  it('gives its body once, as bytes, text or a stream', async () => {
    const req = post('hello');
    assert.equal(req.bodyUsed, false);
    assert.equal(await req.text(), 'hello');
    assert.equal(req.bodyUsed, true);
    await assert.rejects(req.arrayBuffer(), /unusable/);
    await assert.rejects(new Response(req.body).text(), /unusable/, 'its stream, asked for after, fails when read');
    const streamed = post('hello');
    assert.equal(await new Response(streamed.body).text(), 'hello');
    assert.equal(streamed.bodyUsed, true);
  });

  it('clones with its body, and keeps its method, headers and signal', async () => {
    const stop = new AbortController();
    const req = new ReplayedRequest('http://weft.fleet/x', { method: 'PUT', headers: { 'x-a': '1' }, signal: stop.signal }, bytes('{}'));
    const copy = req.clone();
    assert.equal(await copy.text(), '{}');
    assert.equal(await req.text(), '{}');
    assert.equal(req.method, 'PUT');
    assert.equal(req.headers.get('x-a'), '1');
    stop.abort();
    assert.equal(req.signal.aborted, true);
  });

  it('without a body (a GET) has none', async () => {
    const req = new ReplayedRequest('http://weft.fleet/x', { method: 'GET' }, null);
    assert.equal(req.body, null);
    assert.equal(await req.text(), '');
  });
});
