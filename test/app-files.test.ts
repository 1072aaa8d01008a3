// The files an app brings, on a running node (real HTTP, real ONNX models): each must resolve
// inside the app folder (a symlink out of it is refused, and no error quotes a file's content),
// and a model file changed after the app was deployed is refused at its first load instead of
// being served from weights nobody verified.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminNode, type AdminNode } from './kit/admin-node.js';
import { writeSumApp } from './kit/apps.js';

/** A line no error may quote: the content of a file outside the app. */
const SECRET = 'secret-line-7f3a: do not echo';

describe('files an app brings', () => {
  let dir: string;
  let admin: AdminNode | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-app-files-'));
    writeFileSync(join(dir, 'outside.txt'), `${SECRET}\n`);
    admin = await startAdminNode(dir, 'app-files-admin');
  });
  after(async () => {
    await admin?.node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const deploy = (ref: string) => admin!.deploy(ref);
  const infer = async (model: string) => {
    const body = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] };
    const res = await fetch(`${admin!.url}/v2/models/${model}/infer`, { method: 'POST', headers: admin!.auth, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { code?: string; error?: string; outputs?: Array<{ data: number[] }> } };
  };

  it('refuses a model file that is a symlink out of the app folder', async () => {
    const app = await writeSumApp(join(dir, 'escape-model'), 'escape-model');
    rmSync(join(app, 'models', 'sum.onnx'));
    const elsewhere = await writeSumApp(join(dir, 'elsewhere'), 'elsewhere');
    symlinkSync(join(elsewhere, 'models', 'sum.onnx'), join(app, 'models', 'sum.onnx'));
    const refused = await deploy(app);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'INVALID_MANIFEST');
    assert.match(refused.body.error!, /'models\/sum\.onnx' resolves outside the app folder/);
    assert.equal((await infer('escape-model-sum')).body.code, 'MODEL_NOT_FOUND');
  });

  it('refuses a component or weft.json symlinked to a file outside, without quoting it', async () => {
    const app = await writeSumApp(join(dir, 'escape-component'), 'escape-component');
    symlinkSync(join(dir, 'outside.txt'), join(app, 'app.wasm'));
    writeFileSync(join(app, 'weft.json'), JSON.stringify({ name: 'escape-component', version: '1.0.0', models: [], component: { file: 'app.wasm', grants: { models: [] } } }));
    const component = await deploy(app);
    assert.equal(component.status, 400, JSON.stringify(component.body));
    assert.match(component.body.error!, /'app\.wasm' resolves outside the app folder/);
    assert.doesNotMatch(component.body.error!, /secret-line/);

    const manifest = join(dir, 'escape-manifest');
    mkdirSync(manifest);
    symlinkSync(join(dir, 'outside.txt'), join(manifest, 'weft.json'));
    const refused = await deploy(manifest);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.doesNotMatch(refused.body.error!, /secret-line/);
  });

  it('does not quote a component inside the folder that is not WebAssembly', async () => {
    const app = join(dir, 'text-component');
    mkdirSync(app);
    copyFileSync(join(dir, 'outside.txt'), join(app, 'app.wasm'));
    writeFileSync(join(app, 'weft.json'), JSON.stringify({ name: 'text-component', version: '1.0.0', models: [], component: { file: 'app.wasm', grants: { models: [] } } }));
    const refused = await deploy(app);
    assert.ok(refused.status >= 400 && refused.status < 500, JSON.stringify(refused.body));
    assert.doesNotMatch(refused.body.error!, /secret-line|7f3a/);
  });

  it('refuses at its first load a model file changed after the app was deployed', async () => {
    const app = await writeSumApp(join(dir, 'changed'), 'changed');
    assert.equal((await deploy(app)).status, 201);
    // Other weights (seed 7), the same answer: only the content check can tell.
    const other = await writeSumApp(join(dir, 'other-weights'), 'other-weights', { seed: 7 });
    copyFileSync(join(other, 'models', 'sum.onnx'), join(app, 'models', 'sum.onnx'));
    const refused = await infer('changed-sum');
    assert.equal(refused.status, 500, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'MODEL_LOAD_FAILED');
    assert.match(refused.body.error!, /changed after it was deployed/);

    // The app deployed unchanged loads and answers y = x + 3.
    const fine = await writeSumApp(join(dir, 'unchanged'), 'unchanged');
    assert.equal((await deploy(fine)).status, 201);
    const answer = await infer('unchanged-sum');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.outputs![0]!.data, [4]);
  });
});
