// The sandbox on its own: of two deploys of one app racing, one starts its component and the
// other is refused, and no worker thread of the refused one stays behind.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testComponent, writeApp } from '../../test/kit/components.js';
import { waitFor } from '../../test/kit/wait.js';
import { openAppFolder } from '../bundle/index.js';
import type { ModelService } from '../engine/index.js';
import { testEngine } from '../../test/kit/engine.js';
import { ErrorCode, WeftError } from '../errors.js';
import { createLogger } from '../telemetry/index.js';
import { Sandbox } from './index.js';

/** OS threads of this process: each component worker is one. */
const threads = () => readdirSync('/proc/self/task').length;

describe('sandbox', () => {
  let dir: string;
  let engine: ModelService;
  const log = createLogger('error', () => undefined);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-sandbox-unit-'));
    engine = testEngine(log);
  });
  after(async () => {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second deploy of an app while the first is starting, leaking no worker', async () => {
    const bundle = openAppFolder(writeApp(join(dir, 'hello'), await testComponent('hello'), { name: 'hello', version: '1.0.0' }));
    const sandbox = new Sandbox({ engine, log, dataDir: join(dir, 'data') });
    // A first deploy fills the transpile cache and starts the threads the process makes once.
    await sandbox.deploy(bundle);
    await sandbox.close();
    const baseline = threads();
    const results = await Promise.allSettled([sandbox.deploy(bundle), sandbox.deploy(bundle)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected')!.reason as unknown;
    assert.ok(refused instanceof WeftError && refused.code === ErrorCode.AppExists, String(refused));
    await sandbox.close();
    await waitFor(`worker threads back to ${baseline} after close`, async () => (threads() <= baseline ? true : undefined));
  });
});
