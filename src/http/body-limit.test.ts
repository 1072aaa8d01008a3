import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { ErrorCode, toWeftError } from '../errors.js';
import { bodyLimit } from './index.js';

function app(): Hono {
  const app = new Hono();
  app.use('*', bodyLimit(10));
  // A guard that answers without reading the body, as auth does for a request without a key.
  app.use('/guarded', async (c) => c.json({ refused: true }, 401));
  app.post('/echo', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  app.onError((err, c) => c.json({ code: toWeftError(err).code }, toWeftError(err).code === ErrorCode.BodyTooLarge ? 413 : 500));
  return app;
}

/** A chunked body (no Content-Length): the chunks given, then open until `end` (if given) resolves. */
function chunked(chunks: number[], end?: Promise<void>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      for (const n of chunks) controller.enqueue(new Uint8Array(n));
      if (end !== undefined) await end;
      controller.close();
    },
  });
}

const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) => app().request(path, { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

describe('body limit', () => {
  it('passes a chunked body within the limit to the route whole', async () => {
    const res = await post('/echo', chunked([4, 6]));
    assert.deepEqual([res.status, await res.json()], [200, { bytes: 10 }]);
  });

  it('refuses a chunked body once it passes the limit, and closes the connection', async () => {
    const res = await post('/echo', chunked([6, 6, 6]));
    assert.deepEqual([res.status, await res.json()], [413, { code: 'BODY_TOO_LARGE' }]);
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('refuses a declared length far over the limit before reading the body', async () => {
    let read = false;
    const body = new ReadableStream<Uint8Array>({ pull: () => void (read = true) }, { highWaterMark: 0 });
    const res = await post('/echo', body, { 'content-length': '1000' });
    assert.equal(res.status, 413);
    assert.equal(read, false);
  });

  it('answers a declared length over the limit at once when the client stops sending, not after the request timeout', async () => {
    const started = Date.now();
    const res = await post('/echo', chunked([4], new Promise(() => undefined)), { 'content-length': '20' });
    assert.equal(res.status, 413);
    assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
  });

  it('does not hold a request for its body before the guard: a refusal goes out while the body is still coming', async () => {
    let finish!: () => void;
    const never = new Promise<void>((resolve) => (finish = resolve));
    const res = await post('/guarded', chunked([4], never));
    assert.equal(res.status, 401);
    finish();
  });
});
