// The admin API with an admin token, over a real model manager: deploy an app folder (allowed
// unsigned here), infer through the engine, list, remove; wrong or missing tokens are refused by
// the one guard (src/auth), where the admin token is a key with the admin scope.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSumApp } from '../../../test/kit/apps.js';
import { loadConfig } from '../../config/index.js';
import type { ModelService } from '../../engine/index.js';
import { testEngine } from '../../../test/kit/engine.js';
import { ErrorCode } from '../../errors.js';
import { Sandbox } from '../../sandbox/index.js';
import { createLogger, Telemetry } from '../../telemetry/index.js';
import { errorResponse } from '../http-errors.js';
import { AppDeployer } from '../../apps/index.js';
import { adminRoutes } from './routes.js';
import { authMiddleware, KeyStore, TenantLimits } from '../../auth/index.js';
import { Hono } from 'hono';

describe('admin API', () => {
  let dir: string;
  let engine: ModelService;
  let telemetry: Telemetry;
  let request: (path: string, init?: RequestInit) => Promise<{ status: number; body: any }>;
  const token = 'let-me-in';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-admin-'));
    await writeSumApp(join(dir, 'sum'), 'sum');
    const config = loadConfig({ flags: { 'data-dir': join(dir, 'data'), 'allow-unsigned': 'true' } });
    const log = createLogger('error', () => undefined);
    engine = testEngine(log);
    telemetry = await Telemetry.create(config, { version: 'test', log });
    const keys = await KeyStore.open({ dataDir: config.dataDir, adminToken: token });
    const app = new Hono();
    app.use('*', authMiddleware({ keys, limits: new TenantLimits({ rate: 0, concurrency: 0, slots: 0, maxWaiting: 1, waitTimeoutMs: 1000 }) }));
    app.route('/', adminRoutes({ deployer: new AppDeployer({ engine, sandbox: new Sandbox({ engine, log, dataDir: config.dataDir }), config, trustedKeys: [], log }), telemetry }));
    app.onError((err, c) => c.json(errorResponse(err).body, errorResponse(err).status as 400));
    request = async (path, init = {}) => {
      const res = await app.request(path, init);
      return { status: res.status, body: await res.json() };
    };
  });
  after(async () => {
    await engine.shutdown();
    await telemetry.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

  it('refuses requests without the admin token', async () => {
    const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${token}` }];
    for (const headers of attempts) {
      for (const path of ['/admin/apps', '/admin/stats']) {
        const res = await request(path, { headers });
        assert.deepEqual([res.status, res.body.code], [401, ErrorCode.Unauthorized], path);
      }
    }
    assert.equal((await request('/admin/stats', { headers: auth })).status, 200);
  });

  it('deploys, lists and removes an app, registering and releasing its models', async () => {
    const deployed = await request('/admin/apps', { method: 'POST', headers: auth, body: JSON.stringify({ ref: join(dir, 'sum') }) });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.deepEqual(deployed.body.app.models, ['sum-sum']);
    assert.deepEqual(deployed.body.app.signedBy, []);
    const result = await engine.infer('sum-sum', undefined, { inputs: { x: { datatype: 'FP32', shape: [1, 1], data: new Float32Array([2]) } }, outputs: [] });
    assert.deepEqual(Array.from(result.outputs.y!.data as Float32Array), [5]);
    assert.deepEqual((await request('/admin/apps', { headers: auth })).body.apps.map((a: { name: string }) => a.name), ['sum']);
    assert.equal((await request('/admin/apps/sum', { method: 'DELETE', headers: auth })).status, 200);
    assert.deepEqual(engine.names(), []);
  });

  it('answers bad requests with the field at fault', async () => {
    const notJson = await request('/admin/apps', { method: 'POST', headers: auth, body: '{' });
    assert.deepEqual([notJson.status, notJson.body.code], [400, ErrorCode.InvalidJson]);
    const missing = await request('/admin/apps', { method: 'POST', headers: auth, body: JSON.stringify({ ref: join(dir, 'nope') }) });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, ErrorCode.BundleNotFound);
    assert.match(missing.body.error, /no such folder/);
  });
});
