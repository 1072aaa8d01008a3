import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { LARGE_BODY_BYTES, readBody } from './index.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

// Over a real socket: a large declared body is read by readBody itself (one buffer of its
// length), a small one through Hono; both must give the bytes sent, to every later reader.
describe('readBody over HTTP', () => {
  let server: ServerType;
  let port: number;
  let failures: unknown[] = [];
  before(async () => {
    const app = new Hono();
    app.post('/digest', async (c) => {
      const first = await readBody(c);
      const again = await readBody(c);
      // What asks Hono afterwards (the fleet's forward of an OpenAI body) sees the same bytes.
      const viaHono = new Uint8Array(await c.req.arrayBuffer());
      return c.json({ bytes: first.byteLength, sha: sha(first), same: again === first, viaHono: sha(viaHono), direct: Buffer.isBuffer(first) && first.byteOffset === 0 && first.buffer.byteLength === first.byteLength });
    });
    app.post('/slow', async (c) => {
      try {
        await readBody(c);
        return c.json({ read: true });
      } catch (err) {
        failures.push(err);
        throw err;
      }
    });
    app.onError((err, c) => c.json({ error: String(err) }, 400));
    await new Promise<void>((resolve) => (server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())));
    port = (server.address() as AddressInfo).port;
  });
  after(() => void server.close());

  const post = (path: string, body: Buffer, pieces = 7) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', path, method: 'POST', headers: { 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
      });
      req.on('error', reject);
      // In uneven pieces, so the body arrives in many socket reads.
      const step = Math.ceil(body.length / pieces);
      for (let at = 0; at < body.length; at += step) req.write(body.subarray(at, at + step));
      req.end();
    });

  for (const size of [LARGE_BODY_BYTES * 3 + 17, LARGE_BODY_BYTES - 1, 100]) {
    it(`gives every reader the ${size} bytes sent`, async () => {
      const body = randomBytes(size);
      const answer = await post('/digest', body);
      // A large body is read into one Buffer of its own, freed whole (the point of reading it
      // here); a small one is Hono's (an ArrayBuffer, not a Buffer).
      assert.deepEqual(answer, { bytes: size, sha: sha(body), same: true, viaHono: sha(body), direct: size >= LARGE_BODY_BYTES });
    });
  }

  it('fails the read, not the node, when the client goes away mid-body', async () => {
    failures = [];
    await new Promise<void>((resolve) => {
      const req = http.request({ port, host: '127.0.0.1', path: '/slow', method: 'POST', headers: { 'content-length': String(LARGE_BODY_BYTES * 2) } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(LARGE_BODY_BYTES / 2));
      setTimeout(() => req.destroy(), 100);
    });
    for (let i = 0; i < 50 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(failures.length, 1);
    assert.match(String(failures[0]), /closed the connection/);
    // The server still answers.
    const body = randomBytes(LARGE_BODY_BYTES);
    assert.equal((await post('/digest', body)).sha, sha(body));
  });
});
