import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { ErrorCode, toWeftError } from '../errors.js';
import { BodyBudget, bodyLimit, readBody } from './index.js';

const MiB = 1024 * 1024;

describe('body budget', () => {
  it('reserves while there is room, refuses SERVER_OVERLOADED with a Retry-After past it, and takes back what is given', () => {
    const budget = new BodyBudget(3 * MiB);
    const first = budget.reserve(2 * MiB);
    const second = budget.reserve(1 * MiB);
    assert.throws(() => budget.reserve(1), (err: unknown) => toWeftError(err).code === ErrorCode.ServerOverloaded && toWeftError(err).retryAfterSeconds === 1);
    first();
    first(); // twice is once
    assert.equal(budget.inUse(), 1 * MiB);
    budget.reserve(2 * MiB);
    second();
    assert.equal(budget.inUse(), 2 * MiB);
  });

  it('lets a body larger than the whole budget through alone', () => {
    const budget = new BodyBudget(1 * MiB);
    budget.reserve(5 * MiB)();
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
  /**
   * Posts `bytes` (chunked when `chunked`), of which only `sent` if given (the rest never comes);
   * resolves with the status and body (an error after the answer, the connection closing while
   * the rest is written, does not matter).
   */
  const post = (bytes: number, options: { chunked?: boolean; sent?: number } = {}) => {
    const req = http.request({ port, host: '127.0.0.1', path: '/hold', method: 'POST', headers: options.chunked ? {} : { 'content-length': String(bytes) } });
    const done = new Promise<[number, unknown]>((resolve, reject) => {
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve([res.statusCode!, JSON.parse(text)]));
      });
      req.on('error', (err) => answered || reject(err));
    });
    const sent = options.sent ?? bytes;
    for (let at = 0; at < sent; at += 256 * 1024) req.write(Buffer.alloc(Math.min(256 * 1024, sent - at)));
    if (sent === bytes) req.end();
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

  for (const chunked of [false, true]) {
    it(`refuses a ${chunked ? 'chunked' : 'declared'} body whose bytes pass what is left, and reads it once there is room`, async () => {
      const first = await holdOne();
      assert.deepEqual(await post(2 * MiB, { chunked }).done, [503, { code: 'SERVER_OVERLOADED' }]);
      answer();
      assert.deepEqual(await first.done, [200, { bytes: 2 * MiB }]);
      await until(() => budget.inUse() === 0);
      assert.deepEqual(await post(2 * MiB, { chunked }).done, [200, { bytes: 2 * MiB }]);
    });
  }

  it('counts what a body has sent, not what it declares: a slow client does not take the budget', async () => {
    // 12 MiB declared (four times the budget), 512 KiB sent, then nothing: it holds no reservation.
    const slow = post(12 * MiB, { sent: 512 * 1024 });
    slow.done.catch(() => undefined);
    hold();
    answer();
    assert.deepEqual(await post(3 * MiB).done, [200, { bytes: 3 * MiB }]);
    assert.equal(budget.inUse(), 0);
    slow.req.destroy();
  });
});
