// End to end: the repository extension's load and unload are admin actions (the one guard of
// src/auth: the admin scope; the admin token is a key with it, and once it is set every API asks
// for a key), and an explicit unload sticks under traffic — requests get
// 503 MODEL_UNAVAILABLE and the index says UNAVAILABLE until an explicit load.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { writeTestModels } from './kit/models.js';
import { waitFor } from './kit/wait.js';

const TOKEN = 'repository-admin';

describe('repository load and unload', () => {
  let dir: string;
  let node: WeftNode;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-repo-admin-'));
    await writeTestModels(join(dir, 'models'));
    const config = loadConfig({ flags: { port: '0', models: join(dir, 'models'), 'admin-token': TOKEN, 'data-dir': join(dir, 'data'), 'log-level': 'error' } });
    node = await startNode(config, createLogger('error', () => {}));
    url = `http://127.0.0.1:${node.address.port}`;
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const infer = async () => {
    const res = await fetch(`${url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    });
    return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
  };
  const action = (what: 'load' | 'unload', headers: Record<string, string> = {}) =>
    fetch(`${url}/v2/repository/models/affine/${what}`, { method: 'POST', headers });
  const index = async () => {
    const res = await fetch(`${url}/v2/repository/index`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    return ((await res.json()) as Array<{ name: string; version: string; state: string; reason: string }>).filter((e) => e.name === 'affine' && e.version === '2')[0]!;
  };
  const admin = { Authorization: `Bearer ${TOKEN}` };

  it('refuses load and unload without the admin token, as /admin does', async () => {
    for (const what of ['load', 'unload'] as const) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: TOKEN }] as Array<Record<string, string>>) {
        const res = await action(what, headers);
        assert.equal(res.status, 401, `${what} with ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="weft"');
        assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
      }
    }
    assert.equal((await infer()).status, 200, 'refused actions changed nothing');
    assert.equal((await action('load', admin)).status, 200);
  });

  it('keeps an unloaded model unloaded under traffic until it is loaded again', async () => {
    let stop = false;
    const seen: Array<{ status: number; code?: string; afterUnload: boolean }> = [];
    let unloaded = false;
    const traffic = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const afterUnload = unloaded;
          const r = await infer();
          seen.push({ status: r.status, code: r.body.code, afterUnload });
        }
      }),
    );
    await sleep(300);
    assert.equal((await action('unload', admin)).status, 200);
    unloaded = true;
    // However slow the machine, let a good number of requests arrive after the unload.
    await waitFor('requests after the unload', async () => (seen.filter((s) => s.afterUnload).length > 10 ? true : undefined));
    const entry = await index();
    stop = true;
    await traffic;
    const after = seen.filter((s) => s.afterUnload);
    assert.deepEqual([...new Set(after.map((s) => `${s.status} ${s.code}`))], ['503 MODEL_UNAVAILABLE']);
    assert.ok(seen.some((s) => !s.afterUnload && s.status === 200), 'traffic ran before the unload');
    assert.deepEqual({ state: entry.state, reason: entry.reason }, { state: 'UNAVAILABLE', reason: 'unloaded' });
    const refused = await infer();
    assert.match(refused.body.error!, /unloaded; POST \/v2\/repository\/models\/affine\/load/);

    assert.equal((await action('load', admin)).status, 200);
    assert.equal((await infer()).status, 200);
    assert.equal((await index()).state, 'READY');
  });
});
