// End to end: the node's store as a user drives it against a real registry — a pull repairs a
// blob damaged on disk, `weft verify --local` checks the pulled copy, `weft inspect` and
// `weft verify` read the store when the registry is gone, `weft ls` / `weft rm` / `weft gc`, and
// temp files of a killed pack or pull are removed by gc and at a node's start.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSumApp } from './kit/apps.js';
import { startRegistry, type TestRegistry } from './kit/registry.js';
import { runWeft, weftOk } from './kit/weft-cli.js';
import { fetchJson, startWeft, type WeftProcess } from './kit/weft-process.js';
import { flipByte } from './kit/files.js';

let tmp: string;
let registry: TestRegistry;
let baseEnv: Record<string, string>;
let ref: string;
let digest: string;

const data = () => join(tmp, 'data');
const env = () => ({ ...baseEnv, WEFT_DATA_DIR: data() });


/** The pid of a process that has exited: what a temp file's writer killed with -9 leaves. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** A temp file as an atomic write names it, written by `pid`, last touched `ageS` seconds ago. */
let temps = 0;
async function tempFile(dir: string, pid: number, ageS: number, bytes = 1000): Promise<string> {
  const path = join(dir, `${'ab'.repeat(32)}.${pid}.${(++temps).toString(16).padStart(8, '0')}.part`);
  await writeFile(path, Buffer.alloc(bytes));
  const when = new Date(Date.now() - ageS * 1000);
  await utimes(path, when, when);
  return path;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'weft-store-e2e-'));
  registry = await startRegistry();
  baseEnv = { WEFT_DOCKER_CONFIG: join(tmp, 'no-docker-config.json') };
  await weftOk(['key', 'generate', '-o', 'k'], baseEnv, tmp);
  const app = await writeSumApp(join(tmp, 'app'), 'storeapp', { floats: 4096, seed: 3 });
  const packed = await weftOk(['pack', app, '-o', `${app}.oci`], baseEnv);
  digest = /as (sha256:[a-f0-9]{64})/.exec(packed)![1]!;
  await weftOk(['sign', `${app}.oci`, '--key', join(tmp, 'k.key')], baseEnv);
  ref = `${registry.host}/apps/storeapp:1`;
  await weftOk(['push', ref, '--from', `${app}.oci`], baseEnv);
});
after(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('the store', { concurrency: false }, () => {
  it('repairs a damaged blob when pulled again, and verify --local tells which copy it checked', async () => {
    await weftOk(['pull', ref], env());
    assert.match(await weftOk(['verify', ref, '--local', '--key', join(tmp, 'k.pub')], env()), /the copy in the store at .*signature and every blob digest check out/);
    // The model layer: the largest blob in the store.
    const blobs = join(data(), 'store', 'blobs', 'sha256');
    const sizes = await Promise.all((await readdir(blobs)).map(async (hex) => ({ hex, size: (await stat(join(blobs, hex))).size })));
    const layer = sizes.sort((a, b) => b.size - a.size)[0]!;
    await flipByte(join(blobs, layer.hex));

    const damaged = await runWeft(['verify', ref, '--local', '--key', join(tmp, 'k.pub')], env());
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, new RegExp(`DIGEST_MISMATCH: .*${layer.hex}.*does not match its digest; run \`weft pull\` again`));
    // Verifying the registry's copy is another thing: it is intact.
    assert.match(await weftOk(['verify', ref, '--key', join(tmp, 'k.pub')], env()), /the copy in the registry/);

    const repaired = await weftOk(['pull', ref], env());
    assert.match(repaired, /repaired 1 damaged blob\)/);
    assert.match(await weftOk(['verify', ref, '--local', '--key', join(tmp, 'k.pub')], env()), /every blob digest check out/);
    assert.doesNotMatch(await weftOk(['pull', ref], env()), /repaired/);
  });

  it('lists tags with digests and sizes, untags with rm, and gc then frees the blobs', async () => {
    const listed = JSON.parse(await weftOk(['ls', '--json'], env())) as Array<{ tag: string; digest: string; size: number; signatures: number }>;
    assert.deepEqual(listed.map((e) => [e.tag, e.digest, e.signatures]), [[ref, digest, 1]]);
    assert.ok(listed[0]!.size > 4096 * 4, `size ${listed[0]!.size} counts the model layer`);
    assert.match(await weftOk(['ls'], env()), new RegExp(`TAG +DIGEST +SIZE +SIGNED +APP\\n${ref.replace(/\./g, '\\.')} +${digest.slice(0, 19)} +\\d+\\.\\d KiB +1 +storeapp`));

    const missing = await runWeft(['rm', 'nothing:here'], env());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /BUNDLE_NOT_FOUND: no tag 'nothing:here'/);

    // Another tag of the same bundle keeps its blobs alive through the first rm and gc.
    await weftOk(['pack', join(tmp, 'app'), '--tag', 'local:1'], env());
    assert.match(await weftOk(['rm', ref], env()), new RegExp(`untagged ${ref.replace(/\./g, '\\.')} \\(${digest}\\)`));
    assert.match(await weftOk(['gc'], env()), /removed 0 blobs/);
    assert.match(await weftOk(['verify', 'local:1', '--key', join(tmp, 'k.pub')], env()), /every blob digest check out/);
    await weftOk(['rm', 'local:1'], env());
    assert.match(await weftOk(['gc'], env()), /removed [1-9]\d* blobs .*; kept 0/);
    assert.deepEqual(await readdir(join(data(), 'store', 'blobs', 'sha256')), []);
    assert.match(await weftOk(['ls'], env()), /holds no tags/);
  });

  it('reads the pulled copy for inspect and verify when the registry is gone', async () => {
    const gone = await startRegistry();
    const goneRef = `${gone.host}/apps/storeapp:1`;
    try {
      await weftOk(['push', goneRef, '--from', join(tmp, 'app.oci')], baseEnv);
      await weftOk(['pull', goneRef], env());
    } finally {
      await gone.stop();
    }
    const inspect = await runWeft(['inspect', goneRef], env());
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stderr, /cannot reach registry .*; reading the copy pulled into the store instead/);
    assert.match(inspect.stdout, new RegExp(`\\(the copy in the store at .*\\)\\n  digest +${digest}`));
    const verify = await runWeft(['verify', goneRef, '--key', join(tmp, 'k.pub')], env());
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /the copy in the store at .*: signature and every blob digest check out/);
    // A reference never pulled still fails with the registry's error.
    const never = await runWeft(['inspect', `${gone.host}/apps/other:1`], env());
    assert.equal(never.code, 1);
    assert.match(never.stderr, /REGISTRY_ERROR: cannot reach registry/);
  });

  // A registry process that hangs (SIGSTOP) still has its connections accepted by the kernel: every
  // request would wait forever without --registry-timeout. Each command must give up, and take the
  // store fallback an unreachable registry gets; the test fails by its own timeout otherwise.
  it('reads and serves the pulled copy when the registry accepts connections and never answers', { timeout: 90_000 }, async () => {
    const hung = await startRegistry();
    const hungRef = `${hung.host}/apps/storeapp:1`;
    const quick = { ...env(), WEFT_REGISTRY_TIMEOUT: '1s' };
    let node: WeftProcess | undefined;
    try {
      await weftOk(['push', hungRef, '--from', join(tmp, 'app.oci')], baseEnv);
      await weftOk(['pull', hungRef], env());
      hung.pause();
      const timedOut = `registry ${hung.host.replace(/\./g, '\\.')} did not answer GET /v2/apps/storeapp/manifests/1 within 1s \\(--registry-timeout\\)`;
      const inspect = await runWeft(['inspect', hungRef], quick);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.match(inspect.stderr, new RegExp(`${timedOut}; reading the copy pulled into the store instead`));
      assert.match(inspect.stdout, new RegExp(`\\(the copy in the store at .*\\)\\n  digest +${digest}`));
      const verify = await runWeft(['verify', hungRef, '--key', join(tmp, 'k.pub')], quick);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /the copy in the store at .*: signature and every blob digest check out/);
      // No copy to fall back to: the timeout is the error, and pull has none either.
      const never = await runWeft(['inspect', `${hung.host}/apps/other:1`], quick);
      assert.equal(never.code, 1);
      assert.match(never.stderr, /REGISTRY_ERROR: registry \S+ did not answer GET \/v2\/apps\/other\/manifests\/1 within 1s/);
      const pull = await runWeft(['pull', hungRef], quick);
      assert.equal(pull.code, 1);
      assert.match(pull.stderr, new RegExp(`REGISTRY_ERROR: ${timedOut}`));
      node = await startWeft(['--app', hungRef, '--trusted-keys', join(tmp, 'k.pub')], quick);
      assert.match(node.logs(), new RegExp(`${timedOut}; serving the copy of .* pulled before`));
      const apps = await fetchJson(`${node.url}/admin/apps`);
      assert.equal(apps.status, 200);
      assert.deepEqual(
        apps.body.apps.map((a: { digest: string }) => a.digest),
        [digest],
      );
    } finally {
      if (node) await node.stop();
      hung.resume();
      await hung.stop();
    }
  });

  it('removes temp files no live process writes, in gc and at a node start', async () => {
    const storeTmp = join(data(), 'store', 'tmp');
    const dead = Number(deadPid());
    const stale = await tempFile(storeTmp, dead, 120, 354_000);
    const live = await tempFile(storeTmp, process.pid, 120);
    const fresh = await tempFile(storeTmp, dead, 1);
    assert.match(await weftOk(['gc'], env()), /removed 1 stale temp file \(354000 bytes\)/);
    assert.deepEqual((await readdir(storeTmp)).sort(), [live, fresh].map((p) => p.slice(storeTmp.length + 1)).sort());
    assert.ok(!(await readdir(storeTmp)).includes(stale.slice(storeTmp.length + 1)));

    await rm(live);
    await rm(fresh);
    await tempFile(storeTmp, dead, 3600 * 2);
    const node = await startWeft(['--data-dir', data(), '--model', `m=${join(tmp, 'app', 'models', 'sum.onnx')}`], baseEnv);
    try {
      assert.deepEqual(await readdir(storeTmp), []);
      assert.match(node.logs(), /removed temp files of killed packs and pulls files=1/);
    } finally {
      assert.equal(await node.stop(), 0);
    }
  });
});
