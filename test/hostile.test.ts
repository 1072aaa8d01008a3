// A running node under attack while it serves: a steady normal load on one model, and beside it
// rounds of malformed, oversized and slow requests — random bytes and random JSON as KServe and
// OpenAI bodies, binary headers that lie about their sizes, JSON nested past the depth limit, a
// Content-Length of a gigabyte, bodies that never finish, heads larger than the limit, and
// connections opened and dropped. Each hostile request is answered with a 4xx (or cut) and none
// reaches the normal load: it sees only 200s. Afterwards the node's file descriptors are back to
// where they started and its memory has not run away. Past --max-connections a new connection is
// closed unread. Pipelined requests are answered in turn, so a client that never reads holds one
// answer, and that one only until --send-timeout.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import fc from 'fast-check';
import { binaryInferRequest, float32Bytes } from './kit/binary.js';
import { BIG_N, writeTestModels } from './kit/models.js';
import { freePort } from './kit/net.js';
import { waitFor } from './kit/wait.js';
import { startWeft, type WeftProcess } from './kit/weft-process.js';

let dir: string;
let node: WeftProcess | undefined;
const INFER = '/v2/models/affine/infer';
const VALID = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

const fds = () => readdirSync(`/proc/${node!.proc.pid}/fd`).length;
const rssMiB = () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${node!.proc.pid}/status`, 'utf8'))?.[1]) / 1024;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-hostile-'));
  await writeTestModels(join(dir, 'models'));
  node = await startWeft(['--models', join(dir, 'models'), '--request-timeout', '2s', '--send-timeout', '1s', '--energy', 'off'], { WEFT_DATA_DIR: join(dir, 'data') });
});

after(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes on a new connection; resolves with the status line's code, or 0 when cut without one. */
function raw(bytes: string | Buffer, waitMs = 10_000): Promise<number> {
  const url = new URL(node!.url);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(url.port), url.hostname);
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (/\r\n\r\n/.test(text)) {
        clearTimeout(timer);
        done();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.write(bytes);
  });
}

/** A client of the node's gRPC service, built from the protocol's proto file as a user's would be. */
function grpcClient(port: number): grpc.Client & Record<string, any> {
  const definition = loadSync(fileURLToPath(new URL('../proto/grpc_predict_v2.proto', import.meta.url)), { keepCase: true, defaults: true });
  const Service = (grpc.loadPackageDefinition(definition) as any).inference.GRPCInferenceService as typeof grpc.Client;
  return new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
}

const post = (path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${node!.url}${path}`, { method: 'POST', headers, body }).then(async (r) => (await r.arrayBuffer(), r.status));

/** One round of everything hostile, in parallel; resolves with each request's status. */
async function hostileRound(seed: number): Promise<number[]> {
  const randomJson = fc.sample(fc.json({ maxDepth: 6 }), { numRuns: 20, seed });
  const randomBytes = fc.sample(fc.uint8Array({ maxLength: 512 }), { numRuns: 20, seed }) as Array<Uint8Array<ArrayBuffer>>;
  const binaryHeader = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 1 << 30 } }] });
  const head = `POST ${INFER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`;
  return Promise.all([
    ...randomJson.map((j) => post(INFER, j)),
    ...randomBytes.map((b) => post(INFER, b, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(b.length % 64) })),
    ...randomJson.slice(0, 10).map((j) => post('/v1/chat/completions', j)),
    post(INFER, binaryHeader + 'abcd', { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(binaryHeader.length) }),
    post(INFER, `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":${'['.repeat(5000)}1${']'.repeat(5000)}}]}`),
    post(INFER, JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2 ** 31], datatype: 'FP32', data: [1] }] })),
    // A gigabyte announced, a few bytes sent: refused before the body is read.
    raw(`${head}Content-Length: 1000000000\r\n\r\n{"inputs":`),
    // A body that never finishes: cut after --request-timeout.
    raw(`${head}Content-Length: 100\r\n\r\n{"in`),
    // A head larger than --max-header-size.
    raw(`GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
    // Connections opened and dropped at once, and one that sends garbage instead of HTTP.
    ...Array.from({ length: 20 }, () => raw('', 50)),
    raw('\x16\x03\x01 not http at all\r\n\r\n'),
  ]);
}

test('malformed, oversized and slow requests are refused while a normal load sees only 200s, and the node gives back what they took', async () => {
  const warm = await post(INFER, VALID);
  assert.equal(warm, 200);
  await sleep(500);
  const fdsBefore = fds();
  const rssBefore = rssMiB();

  let stop = false;
  const normal: number[] = [];
  const worker = async () => {
    while (!stop) normal.push(await post(INFER, VALID).catch(() => -1));
  };
  const workers = [worker(), worker()];
  const hostile: number[] = [];
  for (let round = 0; round < 5; round++) hostile.push(...(await hostileRound(round)));
  stop = true;
  await Promise.all(workers);

  assert.ok(normal.length > 20, `the normal load ran (${normal.length} requests)`);
  assert.deepEqual([...new Set(normal)], [200], 'the normal load saw only 200s');
  const unexpected = hostile.filter((s) => s !== 0 && (s < 400 || s > 499) && s !== 200);
  assert.deepEqual(unexpected, [], 'every hostile request was refused with a 4xx, served (a random body that happens to be valid) or cut');
  assert.ok(hostile.filter((s) => s >= 400 && s <= 499).length > 200, 'most were refused with a 4xx');

  // Connections close as their clients and timeouts end them: the descriptors come back.
  await waitFor('file descriptors back to where they started', async () => (fds() <= fdsBefore + 2 ? true : undefined), 20_000);
  const rssAfter = rssMiB();
  assert.ok(rssAfter < rssBefore + 128, `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`);
  assert.equal(await post(INFER, VALID), 200, 'still serving');
});

test('past --max-connections, HTTP and gRPC together, a new connection is closed unread and counted, and the node serves again once they close', async () => {
  const grpcPort = await freePort();
  const limited = await startWeft(['--models', join(dir, 'models'), '--max-connections', '4', '--grpc-port', String(grpcPort), '--energy', 'off'], { WEFT_DATA_DIR: join(dir, 'data-limited') });
  const url = new URL(limited.url);
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, url.hostname, () => resolve(socket));
      socket.on('error', reject);
    });
  /** What the server sends on `socket` after `bytes`, until it closes the connection (or 2 s pass). */
  const answerTo = (socket: Socket, bytes: string) =>
    new Promise<string>((resolve) => {
      let text = '';
      const timer = setTimeout(() => resolve(`${text} (still open)`), 2000);
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('close', () => (clearTimeout(timer), resolve(text)));
      socket.on('error', () => undefined);
      socket.write(bytes);
    });
  const HTTP_REQUEST = 'GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n';
  // An HTTP/2 client's preface: a gRPC server under the limit answers with its SETTINGS at once.
  const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  /** A connection the node has accepted and answered on: it holds a place. */
  const held = async (port: number, bytes: string) => {
    const socket = await open(port);
    await new Promise((resolve) => socket.once('data', resolve).write(bytes));
    return socket;
  };
  try {
    // Two on each port: four in all, the limit. (Each answered, so the node has counted it.)
    const holding = [await held(Number(url.port), HTTP_REQUEST), await held(Number(url.port), HTTP_REQUEST), await held(grpcPort, HTTP2_PREFACE), await held(grpcPort, HTTP2_PREFACE)];
    // Either port closes the next one as it accepts it: the client sees the connection end with no answer.
    assert.equal(await answerTo(await open(Number(url.port)), HTTP_REQUEST), '', 'no HTTP answer past the limit');
    assert.equal(await answerTo(await open(grpcPort), HTTP2_PREFACE), '', 'no gRPC answer past the limit');
    for (const socket of holding) socket.destroy();
    const metrics = await waitFor('the node serves again', async () => {
      const r = await fetch(`${limited.url}/metrics`).catch(() => undefined);
      return r?.ok ? r.text() : undefined;
    });
    assert.match(metrics, /^weft_connections_dropped_total [2-9]/m);
    assert.match(limited.logs(), /connection refused: --max-connections are open max=4/);
    // And gRPC serves again.
    const client = grpcClient(grpcPort);
    const live = await new Promise<{ live: boolean }>((resolve, reject) => client.ServerLive({}, (err: Error | null, res: { live: boolean }) => (err ? reject(err) : resolve(res))));
    client.close();
    assert.equal(live.live, true);
  } finally {
    await limited.stop();
  }
});

test('large bodies share --max-body-memory: while one holds it, a declared or chunked body is refused 503 and a gRPC message UNAVAILABLE', async () => {
  const grpcPort = await freePort();
  const limited = await startWeft(['--models', join(dir, 'models'), '--max-body-size', '2MiB', '--max-body-memory', '2MiB', '--grpc-port', String(grpcPort), '--energy', 'off'], { WEFT_DATA_DIR: join(dir, 'data-bodies') });
  const port = Number(new URL(limited.url).port);
  const client = grpcClient(grpcPort);
  // 1.5 MiB of raw input for a [1,4] tensor: refused for its size once it is looked at.
  const largeInfer = () =>
    new Promise<grpc.ServiceError>((resolve) =>
      client.ModelInfer({ model_name: 'affine', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(1.5 * 1024 * 1024)] }, (err: grpc.ServiceError) => resolve(err)),
    );
  // The same valid request, padded past the 1 MiB from which a body counts: 1.5 MiB, three quarters of the budget.
  const body = Buffer.from(VALID.replace('"inputs"', `${' '.repeat(1.5 * 1024 * 1024)}"inputs"`));
  const head = (extra: string) => `POST ${INFER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
  /** Opens a connection, sends `bytes`; `answer` resolves with the status code and the response text. */
  const send = (bytes: Buffer) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let text = '';
    const answer = new Promise<[number, string]>((resolve) => {
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve([Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text]);
      });
    });
    socket.write(bytes);
    return { socket, answer };
  };
  try {
    // A body of which 1.25 MiB has come, the rest not yet: it holds the whole budget (counted a MiB ahead of what came).
    const cut = 1.25 * 1024 * 1024;
    const held = send(Buffer.concat([Buffer.from(head(`Content-Length: ${body.length}\r\n`)), body.subarray(0, cut)]));
    await sleep(300);
    const declared = send(Buffer.concat([Buffer.from(head(`Content-Length: ${body.length}\r\n`)), body]));
    const chunk = body.subarray(0, 1.5 * 1024 * 1024);
    const chunked = send(Buffer.concat([Buffer.from(head('Transfer-Encoding: chunked\r\n')), Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n0\r\n\r\n')]));
    for (const refused of [declared, chunked]) {
      const [status, text] = await refused.answer;
      assert.equal(status, 503);
      assert.match(text, /Retry-After: 1/i);
      assert.match(text, /"code":"SERVER_OVERLOADED"/);
    }
    // gRPC shares the budget; its message is already read, so it is refused rather than held.
    const overloaded = await largeInfer();
    assert.equal(overloaded.code, grpc.status.UNAVAILABLE);
    assert.match(overloaded.details, /^SERVER_OVERLOADED/);
    // The held body arrives whole and is answered.
    held.socket.write(body.subarray(cut));
    assert.equal((await held.answer)[0], 200);
    for (const c of [held, declared, chunked]) c.socket.destroy();
    // With room again (an answered request gives its share back as its response closes) a
    // declared body is read, and the same gRPC message is read and refused for what it says.
    let again = await send(Buffer.concat([Buffer.from(head(`Content-Length: ${body.length}\r\n`)), body])).answer;
    for (let i = 0; i < 20 && again[0] === 503; i++) again = await sleep(50).then(() => send(Buffer.concat([Buffer.from(head(`Content-Length: ${body.length}\r\n`)), body])).answer);
    assert.equal(again[0], 200);
    let mismatch = await largeInfer();
    for (let i = 0; i < 20 && mismatch.code === grpc.status.UNAVAILABLE; i++) mismatch = await sleep(50).then(largeInfer);
    assert.equal(mismatch.code, grpc.status.INVALID_ARGUMENT, mismatch.details);
  } finally {
    client.close();
    await limited.stop();
  }
});

test('a large KServe JSON body is decoded off the event loop: the node answers others meanwhile, and the same answers', async () => {
  // Padding past the 1 MiB from which JSON bodies go to the decoder thread: the same request, the same answer.
  const padded = (json: string) => json.replace('"inputs"', `${' '.repeat(2 * 1024 * 1024)}"inputs"`);
  const direct = await fetch(`${node!.url}${INFER}`, { method: 'POST', body: VALID, headers: { 'content-type': 'application/json' } }).then((r) => r.json());
  const viaThread = await fetch(`${node!.url}${INFER}`, { method: 'POST', body: padded(VALID), headers: { 'content-type': 'application/json' } });
  assert.equal(viaThread.status, 200);
  assert.deepEqual((await viaThread.json()).outputs, direct.outputs);
  const mismatch = await fetch(`${node!.url}${INFER}`, { method: 'POST', body: padded(VALID.replace('[1,2,3,4]', '[1,2,3]')), headers: { 'content-type': 'application/json' } });
  assert.equal(mismatch.status, 400);
  assert.deepEqual(await mismatch.json().then((b: { code: string; field: string }) => [b.code, b.field]), ['DATA_SIZE_MISMATCH', 'inputs[0].data']);

  // 10 M numbers (about 40 MB) take the parser a second or more: a health check sent once the body is
  // sent is answered first, where a parse on the main thread would hold it until the end.
  const huge = `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[${'0.5,'.repeat(10_000_000)}0.5]}]}`;
  const order: string[] = [];
  const big = fetch(`${node!.url}${INFER}`, { method: 'POST', body: huge, headers: { 'content-type': 'application/json' } }).then(async (r) => {
    order.push(`infer ${r.status}`);
    return r.json() as Promise<{ code: string }>;
  });
  await sleep(300);
  const live = await fetch(`${node!.url}/v2/health/live`);
  order.push(`live ${live.status}`);
  assert.equal((await big).code, 'DATA_SIZE_MISMATCH');
  assert.deepEqual(order, ['live 200', 'infer 400']);
});

test('pipelined requests are answered in turn: a client that reads gets every answer in order, one that never reads holds one', async () => {
  const port = Number(new URL(node!.url).port);
  const request = (path: string, body: Uint8Array, headers: Record<string, string>) =>
    Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n`), body]);
  // Five requests in one write, each with its id: five answers, in the order asked.
  const reader = connect(port, '127.0.0.1');
  let text = '';
  reader.on('data', (c: Buffer) => (text += c.toString('latin1')));
  reader.write(Buffer.concat([0, 1, 2, 3, 4].map((i) => request(INFER, Buffer.from(VALID.replace('{"inputs"', `{"id":"r${i}","inputs"`)), { 'content-type': 'application/json' }))));
  await waitFor('five answers', async () => ((text.match(/HTTP\/1\.1 200/g) ?? []).length === 5 ? true : undefined));
  assert.deepEqual([...text.matchAll(/"id":"(r\d)"/g)].map((m) => m[1]), ['r0', 'r1', 'r2', 'r3', 'r4']);
  reader.destroy();

  // Six requests for an 8 MB answer each on a connection that never reads: the first answer fills
  // what the kernel takes, and the rest are not run (Node alone would run all six and hold their answers).
  const ran = async () => {
    const metrics = await (await fetch(`${node!.url}/metrics`)).text();
    return Number(/^weft_queue_time_seconds_count\{model="big_a"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  };
  const before = await ran();
  const { body, headers } = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, BIG_N], bytes: float32Bytes(new Float32Array(BIG_N).fill(1)) }]);
  const silent = connect(port, '127.0.0.1');
  silent.on('error', () => undefined);
  silent.pause();
  const one = request('/v2/models/big_a/infer', body, headers);
  for (let i = 0; i < 6; i++) silent.write(one);
  await waitFor('the first big_a answer', async () => ((await ran()) > before ? true : undefined));
  await sleep(1500);
  const held = (await ran()) - before;
  assert.ok(held <= 2, `${held} of six pipelined requests ran for a client that reads nothing`);
  silent.destroy();
  const after = await fetch(`${node!.url}${INFER}`, { method: 'POST', body: VALID, headers: { 'content-type': 'application/json' } });
  assert.equal(after.status, 200);
});

test('an answer its client reads none of is dropped after --send-timeout, and its connection closed', async () => {
  const port = Number(new URL(node!.url).port);
  const { body, headers } = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, BIG_N], bytes: float32Bytes(new Float32Array(BIG_N).fill(1)) }]);
  const head = `POST /v2/models/big_a/infer HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n`;
  // An 8 MB answer, more than the kernel buffers on both sides take while nobody reads.
  const silent = connect(port, '127.0.0.1');
  silent.on('error', () => undefined);
  silent.pause();
  const closed = async () => Number(/^weft_stalled_answers_dropped_total (\d+)$/m.exec(await (await fetch(`${node!.url}/metrics`)).text())?.[1]);
  const before = await closed();
  silent.write(Buffer.concat([Buffer.from(head), body]));
  await waitFor('the node closing it', async () => ((await closed()) > before ? true : undefined), 15_000);
  assert.match(node!.logs(), /answer dropped: its client read none of it for --send-timeout/);
  // What the kernels held still comes; the rest of the answer does not.
  let received = 0;
  silent.on('data', (c: Buffer) => (received += c.length));
  silent.resume();
  await once(silent, 'close');
  assert.ok(received > 0 && received < BIG_N * 4, `received ${received} bytes of an answer of ${BIG_N * 4}`);
  const after = await fetch(`${node!.url}${INFER}`, { method: 'POST', body: VALID, headers: { 'content-type': 'application/json' } });
  assert.equal(after.status, 200);
});
