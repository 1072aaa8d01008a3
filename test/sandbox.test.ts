// End to end: app components served at /apps/{app} by an in-process node — a component calling
// a model through the engine, grants, typed errors, and hostile components (endless loop,
// memory bomb, trap, abort, malformed result, forbidden imports), each failing only its own
// request while a load on another app keeps succeeding; per-request instances share nothing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAppFolder } from '../src/bundle/index.js';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { FUTURE_WIT, HOSTILE_WIT, jsTestComponent, testComponent, writeApp } from './kit/components.js';
import { AFFINE_B_V2, AFFINE_W, writeTestModels } from './kit/models.js';

describe('app components', () => {
  let dir: string;
  let node: WeftNode;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-sandbox-'));
    await writeTestModels(join(dir, 'models'));
    const echo = await testComponent('echo');
    const hostile = await testComponent('hostile');
    /** The hostile component as an app of its own, under these limits. */
    const hostileApp = (name: string, limits: { memory: string; deadline: string; concurrency: number }) => writeApp(join(dir, name), hostile, { name, version: '1.0.0', component: { limits } });
    const apps = [
      writeApp(join(dir, 'echo'), echo, {
        name: 'echo',
        version: '1.0.0',
        component: { grants: { models: ['affine', 'slow'], config: { greeting: 'hi' } } },
      }),
      hostileApp('hostile', { memory: '16MiB', deadline: '1s', concurrency: 2 }),
      hostileApp('single', { memory: '16MiB', deadline: '1s', concurrency: 1 }),
      hostileApp('roomy', { memory: '256MiB', deadline: '5s', concurrency: 1 }),
      hostileApp('ample', { memory: '1GiB', deadline: '5s', concurrency: 1 }),
      writeApp(join(dir, 'fresh'), hostile, { name: 'fresh', version: '1.0.0', component: { instances: 'per-request' } }),
      writeApp(join(dir, 'glue'), await jsTestComponent('glue'), {
        name: 'glue',
        version: '1.0.0',
        component: { grants: { models: ['affine'], config: {} } },
      }),
    ];
    const config = loadConfig({ flags: { port: '0', models: join(dir, 'models'), app: apps, 'data-dir': join(dir, 'data'), 'log-level': 'error', 'allow-unsigned': 'true' } });
    node = await startNode(config, createLogger('error', () => {}));
    url = `http://127.0.0.1:${node.address.port}`;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body = '') => fetch(`${url}${path}`, { method: 'POST', body });

  it('passes method, path, query and body to the handler and returns its response', async () => {
    const res = await post('/apps/echo/some/path?a=1', 'hello');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'POST /some/path a=1 hello hi');
    assert.equal(res.headers.get('x-models'), 'affine,slow');
    assert.equal(res.headers.get('x-elapsed-ok'), 'yes');
    const root = await fetch(`${url}/apps/echo`);
    assert.equal(await root.text(), 'GET /   hi', 'empty query and body');
  });

  it('runs a granted model through the engine', async () => {
    const res = await post('/apps/echo/?model=affine');
    assert.equal(res.status, 200);
    const [name, values] = (await res.text()).split(':');
    assert.equal(name, 'y');
    const expected = [0, 1, 2].map((j) => [1, 2, 3, 4].reduce((s, x, i) => s + x * AFFINE_W[i]![j]!, AFFINE_B_V2[j]!));
    values!.split(',').forEach((v, j) => assert.ok(Math.abs(Number(v) - expected[j]!) < 1e-4, `${v} vs ${expected[j]}`));
  });

  it('serves a JavaScript component built with componentize-js, calling a model', async () => {
    const res = await post('/apps/glue/js');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { method: string; path: string; models: string[]; y: number[] };
    assert.deepEqual({ method: body.method, path: body.path, models: body.models }, { method: 'POST', path: '/js', models: ['affine'] });
    const expected = [0, 1, 2].map((j) => [1, 2, 3, 4].reduce((s, x, i) => s + x * AFFINE_W[i]![j]!, AFFINE_B_V2[j]!));
    body.y.forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-4));
  });

  it("batches a component's model calls with protocol requests for the same model", async () => {
    // slow batches up to 4 rows and waits up to 2 s for company: one KServe row and one row
    // from the component arriving together run as one batch of two requests.
    const kserve = fetch(`${url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 256], datatype: 'FP32', data: new Array(256).fill(1) }] }),
    });
    const component = post('/apps/echo/?model=slow');
    const [k, c] = await Promise.all([kserve, component]);
    assert.equal(c.status, 200, await c.clone().text());
    assert.match(await c.text(), /^y:/);
    const body = (await k.json()) as { parameters: { batch_requests: number; batch_size: number } };
    assert.deepEqual(body.parameters, { batch_size: 2, batch_requests: 2 });
  });

  it('refuses a model that was not granted, saying how to grant it', async () => {
    const res = await post('/apps/echo/?model=sum_two');
    assert.equal(res.status, 500);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'APP_FAILED');
    assert.match(body.error, /may not use model 'sum_two': add it to grants.models in weft.json/);
  });

  it('answers an unknown app with 404 APP_NOT_FOUND', async () => {
    const res = await post('/apps/nope/x');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'APP_NOT_FOUND');
  });

  it('fails each hostile request on its own while another app keeps serving', async () => {
    let stop = false;
    let served = 0;
    const load = (async () => {
      while (!stop) {
        const res = await post('/apps/echo/load', 'x');
        assert.equal(res.status, 200, 'the other app failed under load');
        await res.text();
        served++;
      }
    })();
    const expect = async (path: string, status: number, code: string, message?: RegExp) => {
      const res = await post(`/apps/hostile${path}`);
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.code, code, path);
      if (message) assert.match(body.error, message, path);
    };
    try {
      await Promise.all([
        expect('/loop', 504, 'COMPONENT_DEADLINE', /deadline of 1000 ms/),
        expect('/bomb', 500, 'COMPONENT_TRAPPED', /memory reached the limit/),
      ]);
      await expect('/trap', 500, 'COMPONENT_TRAPPED', /unreachable/);
      await expect('/abort', 500, 'COMPONENT_TRAPPED', /the fixture asserted/);
      await expect('/malformed', 502, 'COMPONENT_INVALID_RESPONSE', /malformed/);
      const flood = await post('/apps/hostile/logflood');
      assert.equal(await flood.text(), 'logged', 'log lines past the per-request cap are dropped, not fatal');
      const ok = await post('/apps/hostile/ok');
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'ok');
    } finally {
      stop = true;
      await load;
    }
    assert.ok(served > 0);
  });

  it('queues requests beyond the concurrency cap; one waiting behind a runaway runs on its replacement', async () => {
    const loop = post('/apps/single/loop');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [l, ok] = await Promise.all([loop, post('/apps/single/ok')]);
    assert.equal(l.status, 504);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'ok');
  });

  it('gives every request a fresh instance in per-request mode, and reuses one when pooled', async () => {
    const first = await post('/apps/fresh/leak', 'secret-a');
    const second = await post('/apps/fresh/leak', 'secret-b');
    assert.equal(await first.text(), '1:');
    assert.equal(await second.text(), '1:', 'nothing from the previous request is visible');
    // The pooled app keeps its instance: state carries over (the documented trade-off).
    await post('/apps/hostile/leak', 'one').then((r) => r.text());
    const pooled = await (await post('/apps/hostile/leak', 'two')).text();
    assert.match(pooled, /:one$/);
  });

  it('ends a pooled worker whose instance grew past a quarter of its memory limit, since Wasm memory never shrinks', async () => {
    const text = async (path: string, body: string) => (await post(`/apps/roomy${path}`, body)).text();
    assert.equal(await text('/leak', 'one'), '1:');
    assert.equal(await text('/hold', '8'), 'held 8');
    assert.equal(await text('/leak', 'two'), '2:one', 'an instance that stayed small is kept');
    // 80 MiB more is past 64 MiB, a quarter of the 256 MiB limit: the next request meets a new instance.
    assert.equal(await text('/hold', '80'), 'held 80');
    assert.equal(await text('/leak', 'three'), '1:');
  });

  it('ends a pooled worker that sits idle holding more than 64 MiB, and keeps it while requests keep coming', async () => {
    const text = async (path: string, body: string) => (await post(`/apps/ample${path}`, body)).text();
    assert.equal(await text('/leak', 'one'), '1:');
    // 80 MiB is under a quarter of the 1 GiB limit: the worker is kept for the next request...
    assert.equal(await text('/hold', '80'), 'held 80');
    assert.equal(await text('/leak', 'two'), '2:one');
    // ... but not for good: idle for the pool's 5 s, it is ended and a fresh instance answers.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    assert.equal(await text('/leak', 'three'), '1:');
  });

  it('refuses at load a component importing wasi:filesystem or wasi:sockets, naming the import', async () => {
    for (const [name, iface] of [
      ['fs', 'wasi:filesystem/preopens'],
      ['sockets', 'wasi:sockets/tcp'],
    ] as const) {
      const app = writeApp(join(dir, name), await testComponent(name, HOSTILE_WIT), { name, version: '1.0.0' });
      await assert.rejects(node.sandbox.deploy(openAppFolder(app)), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'COMPONENT_REFUSED');
        assert.ok(err.message.includes(`imports '${iface}@0.2.0', which Weft does not grant`), err.message);
        return true;
      });
    }
  });

  it('refuses at load a component importing a weft:ai version the node does not provide', async () => {
    const app = writeApp(join(dir, 'future'), await testComponent('future', FUTURE_WIT), { name: 'future', version: '1.0.0' });
    await assert.rejects(node.sandbox.deploy(openAppFolder(app)), /imports 'weft:ai\/inference@0.2.0'; this node provides weft:ai\/inference@0.1.0/);
  });

  it('refuses at load a component whose start function never returns', async () => {
    const app = writeApp(join(dir, 'spin'), await testComponent('spin-start'), {
      name: 'spin',
      version: '1.0.0',
      component: { limits: { memory: '16MiB', deadline: '1s', concurrency: 1 } },
    });
    await assert.rejects(node.sandbox.deploy(openAppFolder(app)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'COMPONENT_REFUSED');
      assert.match(err.message, /did not start within 1000 ms/);
      return true;
    });
    assert.ok(!node.sandbox.has('spin'));
  });

  it('refuses at load a grant of a model the node does not serve', async () => {
    const app = writeApp(join(dir, 'nomodel'), await testComponent('echo'), {
      name: 'nomodel',
      version: '1.0.0',
      component: { grants: { models: ['missing'], config: {} } },
    });
    await assert.rejects(node.sandbox.deploy(openAppFolder(app)), /component.grants.models\[0\]: model 'missing' is not served/);
  });
});
