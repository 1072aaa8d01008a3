// End to end: what a failing guest says reaches the caller and the node's log — a JavaScript
// component's thrown Error (through `weft build`'s wrapper), an AssemblyScript abort with its
// file and line, both capped in size — and a stack overflow is a trap, not a malformed result.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { GUEST_TEXT_CAP } from '../src/sandbox/protocol.js';
import { jsTestComponent, testComponent, writeApp } from './kit/components.js';

describe('guest error messages', { timeout: 600_000 }, () => {
  let dir: string;
  let node: WeftNode;
  let url: string;
  const logged: string[] = [];

  // Deadlines are generous: on a loaded machine the JS engine's instance takes seconds to start.
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-guest-errors-'));
    const apps = [
      writeApp(join(dir, 'boom'), await jsTestComponent('boom'), { name: 'boom', version: '1.0.0', component: { limits: { deadline: '120s' } } }),
      writeApp(join(dir, 'faults'), await testComponent('faults'), { name: 'faults', version: '1.0.0', component: { limits: { memory: '16MiB', deadline: '60s', concurrency: 1 } } }),
    ];
    const config = loadConfig({ flags: { port: '0', app: apps, 'data-dir': join(dir, 'data'), 'log-level': 'info', 'allow-unsigned': 'true' } });
    node = await startNode(config, createLogger('info', (line) => logged.push(line)));
    url = `http://127.0.0.1:${node.address.port}`;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (path: string, body = '') => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as { code: string; error: string } };
  };

  it("a JavaScript Error('boom') reaches the caller and the log with its message", async () => {
    const r = await post('/apps/boom/');
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'APP_FAILED');
    assert.match(r.body.error, /uncaught exception: Error: boom \(at handle@[^ ]*boom\.js:\d+:\d+\)/);
    assert.doesNotMatch(r.body.error, /unreachable/);
    assert.ok(logged.some((l) => /component log/.test(l) && /boom/.test(l)), 'the exception is not in the node log');
    // The instance survives a handled exception: the next request is answered the same way.
    assert.equal((await post('/apps/boom/')).body.code, 'APP_FAILED');
  });

  it('a thrown app-error keeps its kind', async () => {
    const r = await post('/apps/boom/typed');
    assert.equal(r.status, 422);
    assert.equal(r.body.code, 'APP_UNPROCESSABLE');
    assert.equal(r.body.error, 'typed failure');
  });

  it('an AssemblyScript abort reaches the caller with its message, file and line', async () => {
    const r = await post('/apps/faults/abort', 'short');
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'COMPONENT_TRAPPED');
    assert.match(r.body.error, /the body is too short at test\/components\/faults\.ts:\d+:\d+|the body is too short at [^ ]*faults\.ts:\d+:\d+/);
  });

  it('long guest messages are capped', async () => {
    for (const path of ['/apps/boom/long', '/apps/faults/longabort']) {
      const r = await post(path);
      assert.equal(r.status, 500, path);
      assert.ok(r.body.error.length < GUEST_TEXT_CAP + 200, `${path}: ${r.body.error.length} characters`);
      assert.match(r.body.error, /more characters\)|…/, path);
    }
    assert.ok(logged.every((l) => l.length < 4 * GUEST_TEXT_CAP), 'a log line is not capped');
  });

  it('deep recursion is 500 COMPONENT_TRAPPED, and the app keeps serving', async () => {
    const r = await post('/apps/faults/recurse');
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.code, 'COMPONENT_TRAPPED');
    assert.match(r.body.error, /stack overflow/);
    const fine = await fetch(`${url}/apps/faults/`, { method: 'POST', body: '' });
    assert.equal(fine.status, 200);
  });
});
