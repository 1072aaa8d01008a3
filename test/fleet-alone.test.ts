// A node started without --fleet is a fleet of one: `weft deploy`, `weft status`, `weft nodes`
// and `weft undeploy` work against it as against a fleet, so a user can start alone and join a
// fleet later with the same commands.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSumApp } from './kit/apps.js';
import { runWeft, weftOk } from './kit/weft-cli.js';
import { fetchJson, postJson, startWeft, type WeftProcess } from './kit/weft-process.js';

let dir: string;
let node: WeftProcess;
let started: string;
const X = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-alone-'));
  started = await writeSumApp(join(dir, 'started'), 'started');
  node = await startWeft(['--node-name', 'solo', '--site', 'home', '--allow-unsigned', '--app', started], { WEFT_DATA_DIR: join(dir, 'data') });
});

after(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('weft deploy, status and undeploy on a node alone', async () => {
  const app = await writeSumApp(join(dir, 'alpha'), 'alpha');
  assert.match(await weftOk(['deploy', app, '--url', node.url]), /^deployed: alpha/);
  const answer = await postJson(`${node.url}/v2/models/alpha-sum/infer`, X);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.outputs[0].data, [4]);

  const text = await weftOk(['status', '--url', node.url]);
  assert.match(text, /^alpha\s+healthy\s+1\s+1/m);
  assert.match(text, /^started\s+healthy/m);
  const status = (await fetchJson(`${node.url}/admin/fleet/apps/alpha`)).body.app;
  assert.deepEqual(status.placed, [{ node: 'solo', site: 'home', state: 'ready' }]);
  assert.equal(status.ref, app);
  assert.match(await weftOk(['nodes', '--url', node.url]), /solo/);

  assert.match(await weftOk(['deploy', app, '--url', node.url]), /^unchanged: alpha/);
  const clash = await runWeft(['deploy', app, '--replicas', '3', '--url', node.url]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /APP_EXISTS: app 'alpha' is already deployed on this node/);

  await weftOk(['undeploy', 'alpha', '--url', node.url]);
  assert.equal((await postJson(`${node.url}/v2/models/alpha-sum/infer`, X)).status, 404);
  assert.equal((await fetchJson(`${node.url}/admin/fleet/apps/alpha`)).status, 404);
  // The app the node was started with is still served.
  assert.equal((await postJson(`${node.url}/v2/models/started-sum/infer`, X)).status, 200);
});

test('more replicas than one node holds stay pending with the reason; constraints it cannot meet are refused', async () => {
  const app = await writeSumApp(join(dir, 'wide'), 'wide');
  const three = await postJson(`${node.url}/admin/fleet/apps`, { ref: app, replicas: 3 });
  assert.equal(three.status, 201, JSON.stringify(three.body));
  assert.equal(three.body.app.health, 'degraded');
  assert.match(three.body.app.pending, /^1\/3 replicas placed; 0\/1 nodes fit: 1 already run a replica/);
  assert.equal((await postJson(`${node.url}/v2/models/wide-sum/infer`, X)).status, 200);

  const gpu = await postJson(`${node.url}/admin/fleet/apps`, { ref: await writeSumApp(join(dir, 'gpu'), 'gpu'), require: ['gpu'] });
  assert.equal(gpu.status, 422);
  assert.equal(gpu.body.code, 'UNSCHEDULABLE');
  assert.match(gpu.body.error, /cannot run on this node: 0\/1 nodes fit: 1 have no free GPU/);
  assert.equal((await postJson(`${node.url}/v2/models/gpu-sum/infer`, X)).status, 404, 'nothing refused was loaded');

  const missing = await runWeft(['deploy', join(dir, 'no-such-app'), '--url', node.url]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-such-app/);
  const unknown = await runWeft(['undeploy', 'nope', '--url', node.url]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /APP_NOT_FOUND: no app 'nope' is deployed on this node/);
  await weftOk(['undeploy', 'wide', '--url', node.url]);
});
