// Apps that carry the same model share one loaded copy: deployed from an OCI layout and from a
// folder, over a real model engine. The copy stays while any app uses it; the same name with
// another file, or other serving settings, is MODEL_CONFLICT (409) naming both apps.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSumApp } from '../../test/kit/apps.js';
import { OciLayout, packApp } from '../bundle/index.js';
import { loadConfig } from '../config/index.js';
import type { ModelService } from '../engine/index.js';
import { testEngine } from '../../test/kit/engine.js';
import { ErrorCode, WeftError } from '../errors.js';
import { Sandbox } from '../sandbox/index.js';
import { createLogger } from '../telemetry/index.js';
import { AppDeployer } from './apps.js';

describe('apps sharing the models they carry', () => {
  let dir: string;
  let engine: ModelService;
  let deployer: AppDeployer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-shared-'));
    const config = loadConfig({ flags: { 'data-dir': join(dir, 'data'), 'allow-unsigned': 'true' } });
    const log = createLogger('error', () => undefined);
    engine = testEngine(log);
    deployer = new AppDeployer({ engine, sandbox: new Sandbox({ engine, log, dataDir: config.dataDir }), config, trustedKeys: [], log });
  });
  after(async () => {
    await engine.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const sum = async (model: string) => {
    const result = await engine.infer(model, undefined, { inputs: { x: { datatype: 'FP32', shape: [1, 1], data: new Float32Array([2]) } }, outputs: [] });
    return Array.from(result.outputs.y!.data as Float32Array);
  };
  const state = (model: string) => engine.status().find((s) => s.name === model)?.state;

  it('shares one loaded model between a bundle and a folder carrying the same file, until the last goes', async () => {
    const a = await writeSumApp(join(dir, 'a'), 'a', { model: 'shared' });
    const layout = await OciLayout.create(join(dir, 'a.oci'));
    await packApp(a, layout);
    await writeSumApp(join(dir, 'b'), 'b', { model: 'shared' });

    assert.deepEqual((await deployer.deploy(join(dir, 'a.oci'))).models, ['shared']);
    assert.deepEqual(await sum('shared'), [5]);
    assert.equal(state('shared'), 'ready');
    assert.deepEqual((await deployer.deploy(join(dir, 'b'))).models, ['shared']);
    assert.deepEqual(engine.names(), ['shared']);

    await deployer.remove('a');
    // Still loaded (never unloaded in between) and serving for b.
    assert.equal(state('shared'), 'ready');
    assert.deepEqual(await sum('shared'), [5]);
    await deployer.remove('b');
    assert.deepEqual(engine.names(), []);
  });

  it('refuses the same model name with another file or other serving settings, naming both apps', async () => {
    await writeSumApp(join(dir, 'first'), 'first', { model: 'clash', seed: 1 });
    await writeSumApp(join(dir, 'other-file'), 'other-file', { model: 'clash', seed: 2 });
    await writeSumApp(join(dir, 'other-serving'), 'other-serving', { model: 'clash', seed: 1, serving: { max_batch_size: 2 } });
    await deployer.deploy(join(dir, 'first'));
    for (const app of ['other-file', 'other-serving']) {
      const err = await deployer.deploy(join(dir, app)).then(
        () => assert.fail(`${app} was deployed`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WeftError, String(err));
      assert.deepEqual([err.code, err.field], [ErrorCode.ModelConflict, 'models[0].name'], err.message);
      assert.match(err.message, new RegExp(`app '${app}' brings model 'clash' \\(sha256:[a-f0-9]{64}.*\\), but app 'first' already serves a different model of that name`));
    }
    assert.match(((await deployer.deploy(join(dir, 'other-serving')).catch((e: unknown) => e)) as Error).message, /serving \{"max_batch_size":2\}/);
    // Nothing of the refused apps stays; the first one keeps serving.
    assert.deepEqual(deployer.list().map((a) => a.name), ['first']);
    assert.deepEqual(await sum('clash'), [5]);
    await deployer.remove('first');
    assert.deepEqual(engine.names(), []);
  });

  it('counts concurrent deploys and a deploy racing a removal correctly', async () => {
    await writeSumApp(join(dir, 'c1'), 'c1', { model: 'race', seed: 3 });
    await writeSumApp(join(dir, 'c2'), 'c2', { model: 'race', seed: 3 });
    await Promise.all([deployer.deploy(join(dir, 'c1')), deployer.deploy(join(dir, 'c2'))]);
    assert.deepEqual(engine.names(), ['race']);
    assert.deepEqual(await sum('race'), [5]);
    // The last user goes while another app brings the model again: the new one gets a fresh copy.
    await deployer.remove('c1');
    const removal = deployer.remove('c2');
    await deployer.deploy(join(dir, 'c1'));
    await removal;
    assert.deepEqual(engine.names(), ['race']);
    assert.deepEqual(await sum('race'), [5]);
    await deployer.remove('c1');
    assert.deepEqual(engine.names(), []);
  });
});
