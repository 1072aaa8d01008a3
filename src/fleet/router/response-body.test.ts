import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { wholeBody } from './response-body.js';

const GlobalResponse = globalThis.Response;

test('a web Response is read whole', async () => {
  assert.equal(new TextDecoder().decode(await wholeBody(new GlobalResponse('{"a":1}'))), '{"a":1}');
  assert.deepEqual([...(await wholeBody(new GlobalResponse(new Uint8Array([1, 2, 3]))))], [1, 2, 3]);
  assert.equal((await wholeBody(new GlobalResponse(null, { status: 204 }))).length, 0);
});

test("a route's answer under @hono/node-server's Response is read from what it keeps, without making undici's", async () => {
  // A node serving HTTP: node-server puts its own Response in place of the global one.
  getRequestListener(() => new Response(null));
  try {
    await readsKeptBodies();
  } finally {
    Object.defineProperty(globalThis, 'Response', { value: GlobalResponse, writable: true, configurable: true });
  }
});

async function readsKeptBodies(): Promise<void> {
  assert.notEqual(globalThis.Response, GlobalResponse, 'node-server no longer replaces the global Response');
  const app = new Hono();
  app.get('/json', (c) => c.json({ outputs: [1, 2] }));
  app.get('/bytes', () => new Response(new Uint8Array([7, 8])));
  app.get('/empty', (c) => c.body(null, 204));
  const kept = (r: Response) => Object.getOwnPropertySymbols(r).some((s) => s.description === 'cache');
  for (const [path, expected] of [['/json', [...new TextEncoder().encode('{"outputs":[1,2]}')]], ['/bytes', [7, 8]], ['/empty', []]] as const) {
    const response = await app.request(path);
    assert.ok(kept(response), `${path}: node-server keeps no body to read (it changed: wholeBody reads through undici again)`);
    assert.deepEqual([...(await wholeBody(response))], expected, path);
    // Still kept: no undici Response was made to read it.
    assert.ok(kept(response), `${path} was read through undici`);
  }
  // Read through undici, the same bytes.
  const response = await app.request('/json');
  assert.equal(await response.text(), '{"outputs":[1,2]}');
}
