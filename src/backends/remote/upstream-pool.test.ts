import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { UpstreamPool, apiBase } from './upstream-pool.js';

const log = { warn: () => undefined, info: () => undefined };

/** A loopback server that answers GET /v1/models and holds each POST until released. */
async function holdingServer(): Promise<{ url: string; server: Server; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') return res.end('{"data":[]}');
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, held };
}

describe('UpstreamPool', () => {
  const servers: Server[] = [];
  let a: Awaited<ReturnType<typeof holdingServer>>;
  let b: Awaited<ReturnType<typeof holdingServer>>;
  before(async () => {
    a = await holdingServer();
    b = await holdingServer();
    servers.push(a.server, b.server);
  });
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('accepts a bare origin or an API base', () => {
    assert.equal(apiBase('http://h:1'), 'http://h:1/v1');
    assert.equal(apiBase('http://h:1/v1/'), 'http://h:1/v1');
    assert.equal(apiBase('https://api.example.com/openai/v1'), 'https://api.example.com/openai/v1');
  });

  it('sends each request to the upstream with the fewest in flight', async () => {
    const pool = new UpstreamPool({ model: 'm', urls: [a.url, b.url], healthIntervalMs: 60_000, retryMs: 1000, log });
    const signal = new AbortController().signal;
    const responses: Array<Promise<{ release: () => void }>> = [];
    for (let i = 0; i < 4; i++) {
      responses.push(pool.post('/chat/completions', {}, signal));
      // Each request is in flight (counted) before the next one picks.
      await new Promise<void>((resolve) => {
        const check = () => (a.held.length + b.held.length > i ? resolve() : setImmediate(check));
        check();
      });
    }
    assert.equal(a.held.length, 2);
    assert.equal(b.held.length, 2);
    assert.deepEqual(pool.states().map((s) => s.inflight), [2, 2]);
    for (const res of [...a.held.splice(0), ...b.held.splice(0)]) res.end('{}');
    for (const r of await Promise.all(responses)) r.release();
    assert.deepEqual(pool.states().map((s) => s.inflight), [0, 0]);
    pool.close();
  });

  it('takes a failing upstream out, then tries it again after the retry time', async () => {
    let now = 0;
    const dead = 'http://127.0.0.1:1/v1';
    const pool = new UpstreamPool({ model: 'm', urls: [dead, a.url], healthIntervalMs: 60_000, retryMs: 1000, log, now: () => now });
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) {
      const pending = pool.post('/completions', {}, signal);
      while (a.held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      a.held.shift()!.end('{}');
      (await pending).release();
    }
    assert.equal(pool.states()[0]!.healthy, false);
    now = 1000;
    // Eligible again: a request whose only other upstream is busy tries it (and fails over).
    const pending = pool.post('/completions', {}, signal);
    while (a.held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    a.held.shift()!.end('{}');
    (await pending).release();
    assert.equal(pool.states()[0]!.healthy, false);
    pool.close();
  });
});
