import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { ErrorCode, toWeftError } from '../errors.js';
import { BodyBudget, bodyLimit, readBody } from './index.js';

const MiB = 1024 * 1024;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('body budget', () => {
  it('grants in arrival order, and a reservation given back lets the next one in', async () => {
    const budget = new BodyBudget(3 * MiB);
    const first = await budget.reserve(2 * MiB);
    const order: string[] = [];
    const second = budget.reserve(2 * MiB).then((release) => (order.push('second'), release));
    // Fits, but waits behind the second: arrival order, so a large body is not starved by small ones.
    const third = budget.reserve(1 * MiB).then((release) => (order.push('third'), release));
    await tick();
    assert.deepEqual(order, []);
    first();
    first(); // twice is once
    const releaseSecond = await second;
    await third;
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(budget.inUse(), 3 * MiB);
    releaseSecond();
    assert.equal(budget.inUse(), 1 * MiB);
  });

  it('drops a waiter whose signal aborts, and wakes those behind it', async () => {
    const budget = new BodyBudget(3 * MiB);
    const held = await budget.reserve(2 * MiB);
    const gone = new AbortController();
    const leaving = budget.reserve(3 * MiB, gone.signal);
    const staying = budget.reserve(1 * MiB);
    gone.abort(new Error('left'));
    await assert.rejects(leaving, /left/);
    (await staying)();
    held();
    assert.equal(budget.inUse(), 0);
  });

  it('refuses at once, SERVER_OVERLOADED with a Retry-After, what does not fit now', () => {
    const budget = new BodyBudget(3 * MiB);
    const held = budget.reserveNow(2 * MiB);
    assert.throws(() => budget.reserveNow(2 * MiB), (err: unknown) => toWeftError(err).code === ErrorCode.ServerOverloaded && toWeftError(err).retryAfterSeconds === 1);
    held();
    budget.reserveNow(2 * MiB);
  });

  it('lets a body larger than the whole budget through alone', async () => {
    const budget = new BodyBudget(1 * MiB);
    (await budget.reserve(5 * MiB))();
    assert.equal(budget.inUse(), 0);
  });
});

// Over a real socket: bodies held by requests not yet answered count against the budget.
describe('body budget over HTTP', () => {
  const budget = new BodyBudget(3 * MiB);
  let server: ServerType;
  let port: number;
  let read = 0;
  let answer!: () => void;
  let answered = Promise.resolve();
  before(async () => {
    const app = new Hono();
    app.use('*', bodyLimit(16 * MiB, budget));
    // Reads the body, then holds the request until the test lets it answer.
    app.post('/hold', async (c) => {
      const body = await readBody(c);
      read++;
      await answered;
      return c.json({ bytes: body.byteLength });
    });
    app.onError((err, c) => {
      const e = toWeftError(err);
      return c.json({ code: e.code }, e.code === ErrorCode.ServerOverloaded ? 503 : 500);
    });
    await new Promise<void>((resolve) => (server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())));
    port = (server.address() as AddressInfo).port;
  });
  after(() => void server.close());

  const hold = () => (answered = new Promise<void>((resolve) => (answer = resolve)));
  /** Posts `bytes` (chunked when `chunked`), resolving with the status and body. */
  const post = (bytes: number, chunked = false) => {
    const req = http.request({ port, host: '127.0.0.1', path: '/hold', method: 'POST', headers: chunked ? {} : { 'content-length': String(bytes) } });
    const done = new Promise<[number, unknown]>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve([res.statusCode!, JSON.parse(text)]));
      });
      req.on('error', reject);
    });
    for (let at = 0; at < bytes; at += 256 * 1024) req.write(Buffer.alloc(Math.min(256 * 1024, bytes - at)));
    req.end();
    return { req, done };
  };
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(what());
  };

  /** A 2 MiB body read and held unanswered (until `answer()`), once it is read. */
  const holdOne = async () => {
    read = 0;
    hold();
    const first = post(2 * MiB);
    await until(() => read === 1);
    return first;
  };

  it('reads a declared body only once the budget has room for it', async () => {
    const first = await holdOne();
    const second = post(2 * MiB);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(read, 1, 'the second body waits while the first is held');
    answer();
    assert.deepEqual(await first.done, [200, { bytes: 2 * MiB }]);
    assert.deepEqual(await second.done, [200, { bytes: 2 * MiB }]);
    assert.equal(budget.inUse(), 0);
  });

  it('refuses a chunked body that streams past what is left, and keeps serving', async () => {
    const first = await holdOne();
    const chunked = post(2 * MiB, true);
    assert.deepEqual(await chunked.done, [503, { code: 'SERVER_OVERLOADED' }]);
    answer();
    await first.done;
    assert.equal(budget.inUse(), 0);
    // With room again, the same chunked body is read.
    assert.deepEqual(await post(2 * MiB, true).done, [200, { bytes: 2 * MiB }]);
  });

  // A waiting body is not read, so its socket is not either (TCP pushes back): the node learns
  // that the client left when the body's turn comes. Its reservation must come back all the same.
  it('gives back the reservation of a waiting request whose client went away', async () => {
    const first = await holdOne();
    const leaving = post(2 * MiB);
    leaving.done.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    leaving.req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    answer();
    await first.done;
    await until(() => budget.inUse() === 0);
    hold();
    answer();
    assert.deepEqual(await post(3 * MiB).done, [200, { bytes: 3 * MiB }]);
  });
});
