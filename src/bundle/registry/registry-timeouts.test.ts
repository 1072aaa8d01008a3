// A registry that accepts a connection and never answers, or stops sending a blob halfway, fails
// the request with REGISTRY_ERROR instead of hanging; a blob that keeps moving on a slow link
// completes however long it takes. These faults cannot be caused quickly with a real registry
// (test/store.test.ts pauses one with SIGSTOP for the CLI's fallback), so small servers play them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, WeftError } from '../../errors.js';
import { sha256 } from '../../store/index.js';
import { RegistryTarget } from './registry-target.js';

const HEAD_MS = 300;
const IDLE_MS = 300;
/** Each test fails here rather than hanging when a timeout is missing. */
const LIMIT = { timeout: 10_000 };

const sockets = new Set<Socket>();
let silent: ReturnType<typeof createNetServer>;
let silentHost: string;
let http: Server;
let httpHost: string;

function target(host: string, repository = 'team/x'): RegistryTarget {
  return new RegistryTarget(
    { registry: host, repository, tag: '1', digest: undefined },
    { credentials: { username: 'alice', password: 'wonderland' }, plainHttp: true, monolithicLimit: 64 * 1024 * 1024, chunkSize: 64 * 1024 * 1024, timeout: HEAD_MS, idleTimeout: IDLE_MS },
  );
}

const blob = (what: string) => ({ mediaType: 'application/octet-stream', digest: sha256(Buffer.from(what)), size: 1500 });

/** Settles with the error `run` rejects with, and how long it took. */
async function failure(run: () => Promise<unknown>): Promise<{ err: WeftError; ms: number }> {
  const started = Date.now();
  const err = await run().then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WeftError, String(err));
  return { err, ms: Date.now() - started };
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.byteLength;
  return n;
}

before(async () => {
  // Accepts every connection and never writes a byte: a registry process that hangs.
  silent = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  }).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  silentHost = `127.0.0.1:${(silent.address() as { port: number }).port}`;

  http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === `/v2/team/x/blobs/${blob('stall').digest}`) {
      // The head and a few bytes, then silence.
      res.writeHead(200, { 'Content-Length': '1500', 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(100));
      return;
    }
    if (path === `/v2/team/x/blobs/${blob('trickle').digest}`) {
      // 1500 bytes over ~1.5 s, more than the head and idle timeouts together, never silent for long.
      res.writeHead(200, { 'Content-Length': '1500', 'Content-Type': 'application/octet-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(100));
        if (++sent === 15) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      return;
    }
    if (path === '/v2/team/x/manifests/1') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      res.write('{"schemaVersion":');
      return;
    }
    if (req.method === 'POST' && path.endsWith('/blobs/uploads/')) {
      res.writeHead(202, { Location: `${path}u1?_state=opaque` }).end();
      return;
    }
    if (req.method === 'PUT' && path === '/v2/team/quiet/blobs/uploads/u1') {
      // Takes the whole body, never answers.
      req.resume();
      return;
    }
    if (req.method === 'PUT' && path === '/v2/team/full/blobs/uploads/u1') {
      // Reads nothing: the upload stalls once the socket buffers are full.
      req.pause();
      return;
    }
    if (req.method === 'PUT' && path === '/v2/team/slow/blobs/uploads/u1') {
      req.resume();
      req.on('end', () => res.writeHead(201).end());
      return;
    }
    res.writeHead(404).end();
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  httpHost = `127.0.0.1:${(http.address() as { port: number }).port}`;
});
after(() => {
  for (const s of sockets) s.destroy();
  silent.close();
  http.close();
});

describe('registry timeouts', () => {
  it('fails a request the registry never answers with REGISTRY_ERROR naming the host and what timed out', LIMIT, async () => {
    const t = target(silentHost);
    for (const run of [() => t.getManifest('1'), () => t.hasBlob(blob('x')), () => t.openBlob(blob('x')), () => t.putBlob(blob('x'), () => [Buffer.alloc(1500)])]) {
      const { err, ms } = await failure(run);
      assert.equal(err.code, ErrorCode.RegistryError);
      assert.match(err.message, new RegExp(`registry ${silentHost} did not answer (GET|HEAD|POST) /v2/team/x/\\S+ within 300ms \\(--registry-timeout\\)`));
      assert.ok(ms >= HEAD_MS - 20 && ms < HEAD_MS + 2000, `${ms} ms`);
      assert.doesNotMatch(err.message, /wonderland|alice/);
    }
  });

  it('fails a blob the registry stops sending halfway, after the idle timeout', LIMIT, async () => {
    const body = await target(httpHost).openBlob(blob('stall'));
    const { err } = await failure(() => drain(body));
    assert.equal(err.code, ErrorCode.RegistryError);
    assert.match(err.message, new RegExp(`registry ${httpHost} sent nothing of GET /v2/team/x/blobs/sha256:[a-f0-9]{64} for 300ms \\(--registry-idle-timeout\\)`));
  });

  it('fails a manifest whose body stalls', LIMIT, async () => {
    const { err } = await failure(() => target(httpHost).getManifest('1'));
    assert.equal(err.code, ErrorCode.RegistryError);
    assert.match(err.message, /sent nothing of GET \/v2\/team\/x\/manifests\/1 for 300ms/);
  });

  it('completes a blob that keeps moving, however long it takes in all', LIMIT, async () => {
    const started = Date.now();
    const body = await target(httpHost).openBlob(blob('trickle'));
    assert.equal(await drain(body), 1500);
    assert.ok(Date.now() - started > HEAD_MS + IDLE_MS, 'the blob took longer than both timeouts together');
  });

  it('fails an upload the registry takes and never answers', LIMIT, async () => {
    const { err } = await failure(() => target(httpHost, 'team/quiet').putBlob(blob('up'), () => [Buffer.alloc(1500)]));
    assert.equal(err.code, ErrorCode.RegistryError);
    assert.match(err.message, new RegExp(`registry ${httpHost} did not answer PUT /v2/team/quiet/blobs/uploads/u1 within 300ms`));
    assert.doesNotMatch(err.message, /_state|opaque/);
  });

  it('fails an upload the registry stops reading, after the idle timeout', LIMIT, async () => {
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    const descriptor = { mediaType: 'application/octet-stream', digest: sha256(Buffer.from('full')), size };
    const { err } = await failure(() =>
      target(httpHost, 'team/full').putBlob(descriptor, function* () {
        for (let i = 0; i < 64; i++) yield chunk;
      }),
    );
    assert.equal(err.code, ErrorCode.RegistryError);
    assert.match(err.message, new RegExp(`registry ${httpHost} took nothing of PUT /v2/team/full/blobs/uploads/u1 for 300ms \\(--registry-idle-timeout\\)`));
  });

  it('completes an upload that keeps moving, however long it takes in all', LIMIT, async () => {
    const started = Date.now();
    const descriptor = { mediaType: 'application/octet-stream', digest: sha256(Buffer.from('slow')), size: 1500 };
    await target(httpHost, 'team/slow').putBlob(descriptor, async function* () {
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        yield Buffer.alloc(100);
      }
    });
    assert.ok(Date.now() - started > HEAD_MS + IDLE_MS, 'the upload took longer than both timeouts together');
  });
});
