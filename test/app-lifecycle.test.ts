// Deploying and removing apps on a running node through the admin API (in-process node, real
// HTTP, real components and models): a removal that would take away a model another app is
// granted is refused, in-flight requests of a removed app finish while new ones find no app,
// and concurrent deploys of one app leave exactly one deployed and no worker thread behind.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WeftNode } from '../src/node.js';
import { startAdminNode, type AdminNode } from './kit/admin-node.js';
import { writeSumApp } from './kit/apps.js';
import { testComponent, writeApp } from './kit/components.js';
import { waitFor } from './kit/wait.js';

const token = 'lifecycle-admin';
// With an admin token every API asks for a key (docs/security.md): the token is one.
const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

/** OS threads of this process: component workers are threads, so a leaked one shows here. */
const threads = () => readdirSync('/proc/self/task').length;

describe('app lifecycle on a running node', () => {
  let dir: string;
  let node: WeftNode | undefined;
  let url: string;
  let deploy: AdminNode['deploy'];
  let slow: string;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-lifecycle-'));
    slow = await testComponent('slow');
    const admin = await startAdminNode(dir, token, 'info', (line) => void logs.push(line));
    node = admin.node;
    url = admin.url;
    deploy = admin.deploy;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const remove = async (name: string) => {
    const res = await fetch(`${url}/admin/apps/${name}`, { method: 'DELETE', headers: auth });
    return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
  };
  const listed = async () => ((await (await fetch(`${url}/admin/apps`, { headers: auth })).json()) as { apps: Array<{ name: string }> }).apps.map((a) => a.name);
  const call = async (app: string, query: string) => {
    const res = await fetch(`${url}/apps/${app}/?${query}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, text: await res.text() };
  };
  /** An app folder with the slow component, granted `grants`, bringing the sum model as `model` when given (and granted it). */
  const slowApp = async (name: string, options: { grants?: string[]; model?: string; concurrency?: number } = {}) => {
    const folder = join(dir, name);
    if (options.model !== undefined) await writeSumApp(folder, name, { model: options.model });
    return writeApp(folder, slow, {
      name,
      version: '1.0.0',
      models: options.model === undefined ? [] : [{ name: options.model, file: 'models/sum.onnx', format: 'onnx' }],
      component: { grants: { models: [...(options.grants ?? []), ...(options.model === undefined ? [] : [options.model])], config: {} }, limits: { deadline: '60s', concurrency: options.concurrency ?? 4, memory: '16MiB' } },
    });
  };

  it('refuses to remove an app while another app is granted a model only it brings, naming that app', async () => {
    assert.equal((await deploy(await writeSumApp(join(dir, 'base'), 'base', { model: 'base-sum' }))).status, 201);
    assert.equal((await deploy(await slowApp('user', { grants: ['base-sum'] }))).status, 201);
    // y = x + 3 on x = 1.
    assert.deepEqual(await call('user', 'model=base-sum'), { status: 200, text: '4.0' });

    const refused = await remove('base');
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CONFLICT');
    assert.match(refused.body.error!, /app 'user' is granted model 'base-sum'.*remove 'user' first/);
    assert.deepEqual(await listed(), ['base', 'user']);
    assert.deepEqual(await call('user', 'model=base-sum'), { status: 200, text: '4.0' });

    // Another app bringing the same file shares the model: base may go, the model stays for user.
    assert.equal((await deploy(await writeSumApp(join(dir, 'twin'), 'twin', { model: 'base-sum' }))).status, 201);
    assert.equal((await remove('base')).status, 200);
    assert.deepEqual(await call('user', 'model=base-sum'), { status: 200, text: '4.0' });
    const last = await remove('twin');
    assert.equal(last.status, 409, JSON.stringify(last.body));
    assert.match(last.body.error!, /'user'/);

    // Once nothing is granted it, the last app bringing it takes the model with it.
    assert.equal((await remove('user')).status, 200);
    assert.equal((await remove('twin')).status, 200);
    assert.deepEqual(await listed(), []);
    assert.ok(!node!.engine.names().includes('base-sum'), `still served: ${node!.engine.names().join(', ')}`);
  });

  it('lets requests in flight finish when their app is removed; later ones find no app', async () => {
    assert.equal((await deploy(await slowApp('drain', { model: 'drain-sum' }))).status, 201);
    const started = () => logs.filter((l) => l.includes('component log') && l.includes('app=drain') && l.includes('started')).length;
    const before = started();
    const settled: number[] = [];
    // Four requests (the app's concurrency), each working 3 s and then calling the app's own model.
    const inflight = [0, 1, 2, 3].map((i) =>
      call('drain', `ms=3000&model=drain-sum&i=${i}`).then((r) => {
        settled.push(i);
        return r;
      }),
    );
    await waitFor('all four requests running in the component', async () => (started() - before >= 4 ? true : undefined), 60_000, 20);
    const removal = remove('drain');
    // The app is gone for new requests at once, while those already running go on.
    await waitFor('the app to leave the list', async () => ((await listed()).includes('drain') ? undefined : true), 30_000, 20);
    const late = await call('drain', 'ms=0');
    assert.equal(late.status, 404, late.text);
    assert.equal((JSON.parse(late.text) as { code: string }).code, 'APP_NOT_FOUND');
    const results = await Promise.all(inflight);
    assert.deepEqual(results, [0, 1, 2, 3].map(() => ({ status: 200, text: '4.0' })), JSON.stringify(results));
    assert.equal((await removal).status, 200);
    assert.equal(settled.length, 4);
    const after = await call('drain', 'ms=0');
    assert.equal(after.status, 404);
    assert.ok(!node!.engine.names().includes('drain-sum'), 'the removed app took its model with it');
  });

  it('deploys one of three concurrent deploys of the same app and leaks no worker thread', async () => {
    const ref = await slowApp('race');
    // A first round starts whatever threads the process creates once (thread pools) before counting.
    assert.equal((await deploy(ref)).status, 201);
    assert.equal((await remove('race')).status, 200);
    const baseline = threads();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([deploy(ref), deploy(ref), deploy(ref)]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409], JSON.stringify(answers));
      for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.code, 'APP_EXISTS');
      assert.deepEqual((await listed()).filter((n) => n === 'race'), ['race']);
      assert.deepEqual(await call('race', 'ms=0'), { status: 200, text: 'done' });
      assert.equal((await remove('race')).status, 200);
      await waitFor(`threads back to ${baseline} after round ${round}`, async () => (threads() <= baseline ? true : undefined), 30_000);
    }
  });
});
