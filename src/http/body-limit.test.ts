import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
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

// Through @hono/node-server the limit reads the headers, not the body: a declared length and a
// chunked body each take their own path to the socket.
describe('body limit over HTTP', () => {
  let server: ServerType;
  let port: number;
  before(async () => {
    await new Promise<void>((resolve) => (server = serve({ fetch: app().fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())));
    port = (server.address() as AddressInfo).port;
  });
  after(() => void server.close());

  /** Sends `chunks` (chunked unless `length` is given) and resolves with the status and body. */
  const send = (chunks: number[], length?: number) =>
    new Promise<[number, unknown]>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', path: '/echo', method: 'POST', headers: length === undefined ? {} : { 'content-length': String(length) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve([res.statusCode!, JSON.parse(text)]));
      });
      req.on('error', reject);
      for (const n of chunks) req.write(new Uint8Array(n));
      req.end();
    });

  it('passes a body of a declared length within the limit', async () => {
    assert.deepEqual(await send([3, 7], 10), [200, { bytes: 10 }]);
  });

  it('passes a chunked body within the limit and refuses one past it', async () => {
    assert.deepEqual(await send([4, 6]), [200, { bytes: 10 }]);
    assert.deepEqual(await send([6, 6, 6]), [413, { code: 'BODY_TOO_LARGE' }]);
  });

  it('refuses a declared length over the limit', async () => {
    assert.deepEqual(await send([12], 12), [413, { code: 'BODY_TOO_LARGE' }]);
  });
});
