// End to end against a real registry (Debian's docker-registry 2.8, which has no referrers API,
// so the `sha256-<hex>` tag-schema fallback is what runs): pack the OCR example with the models it
// carries, sign, push, pull into an empty store, verify, serve it on a bare node and read text; tampered blobs, wrong keys and unsigned bundles are
// refused with clear errors and nothing of them is served; a pull killed with SIGKILL halfway is
// completed by the next one; Basic auth with credentials from a Docker config file.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { digestFile } from '../src/store/index.js';
import { writeSumApp } from './kit/apps.js';
import { renderText } from './kit/render.js';
import { startRegistry, type TestRegistry } from './kit/registry.js';
import { startTokenService, type TokenService } from './kit/token-service.js';
import { runWeft, spawnWeft, weftOk } from './kit/weft-cli.js';
import { fetchJson, postJson, startWeft, type WeftProcess } from './kit/weft-process.js';
import { flipByte } from './kit/files.js';

let tmp: string;
let registry: TestRegistry;
/** Env for CLI runs: no credentials from the machine's own Docker config. */
let baseEnv: Record<string, string>;
/** The OCR example, its component and its models as `npm run build` leaves them. */
const OCR_APP = fileURLToPath(new URL('../examples/ocr', import.meta.url));
let ocrLayout: string;
let ocrDigest: string;

function env(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...baseEnv, WEFT_DATA_DIR: dataDir, ...extra };
}

function registryBlob(digest: string): string {
  const hex = digest.slice(7);
  return join(registry.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}


/** Packs an app folder into a layout, signs it with `key` (unless undefined) and pushes it. */
async function publish(appDir: string, ref: string, key: string | undefined): Promise<string> {
  const layout = `${appDir}.oci`;
  const packed = await weftOk(['pack', appDir, '-o', layout], baseEnv);
  if (key !== undefined) await weftOk(['sign', layout, '--key', key], baseEnv);
  await weftOk(['push', ref, '--from', layout], baseEnv);
  return /as (sha256:[a-f0-9]{64})/.exec(packed)![1]!;
}

async function inferSum(url: string, model: string): Promise<number> {
  const res = await postJson(`${url}/v2/models/${model}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [2] }] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.outputs[0].data[0];
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'weft-bundles-'));
  registry = await startRegistry();
  baseEnv = { WEFT_DOCKER_CONFIG: join(tmp, 'no-docker-config.json'), WEFT_DATA_DIR: join(tmp, 'cli-data') };
  await weftOk(['key', 'generate', '-o', 'good'], baseEnv, tmp);
  await weftOk(['key', 'generate', '--algorithm', 'ecdsa-p256', '-o', 'other'], baseEnv, tmp);
});
after(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('bundles through a real registry', () => {
  let node: WeftProcess;
  const nodeData = () => join(tmp, 'node-data');
  after(async () => {
    if (node) assert.equal(await node.stop(), 0);
  });

  it('packs the example app to the same digest twice', async () => {
    ocrLayout = join(tmp, 'ocr.oci');
    const first = await weftOk(['pack', OCR_APP, '-o', ocrLayout], baseEnv);
    const second = await weftOk(['pack', OCR_APP, '-o', join(tmp, 'ocr-again.oci')], baseEnv);
    ocrDigest = /as (sha256:[a-f0-9]{64})/.exec(first)![1]!;
    assert.ok(second.includes(ocrDigest), second);
    const inspect = await weftOk(['inspect', ocrLayout], baseEnv);
    assert.match(inspect, /models\/cls\.onnx +578966 B {2}application\/vnd\.weft\.model\.onnx\.v1 {2}sha256:[a-f0-9]{64} {2}model=ppocr-cls/);
    // The bundle carries every model the app names, then its component.
    const layers = [...inspect.matchAll(/^ {4}(\S+) +\d+ B {2}(\S+) .*?(?:model=(\S+))?$/gm)].map((m) => [m[1], m[2], m[3]]);
    assert.deepEqual(layers, [
      ['models/det.onnx', 'application/vnd.weft.model.onnx.v1', 'ppocr-det'],
      ['models/rec.onnx', 'application/vnd.weft.model.onnx.v1', 'ppocr-rec'],
      ['models/cls.onnx', 'application/vnd.weft.model.onnx.v1', 'ppocr-cls'],
      ['build/ocr.wasm', 'application/wasm', undefined],
    ]);
  });

  it('signs and pushes; the signature lands under the referrers tag-schema fallback', async () => {
    await weftOk(['sign', ocrLayout, '--key', join(tmp, 'good.key')], baseEnv);
    await weftOk(['push', `${registry.host}/apps/ocr:1.0`, '--from', ocrLayout], baseEnv);
    const tags = await fetchJson(`http://${registry.host}/v2/apps/ocr/tags/list`);
    assert.deepEqual(tags.body.tags.sort(), ['1.0', ocrDigest.replace(':', '-')]);
    // docker-registry 2.8 has no referrers API: this is why the fallback is what gets exercised.
    assert.equal((await fetch(`http://${registry.host}/v2/apps/ocr/referrers/${ocrDigest}`)).status, 404);
    assert.match(await weftOk(['inspect', `${registry.host}/apps/ocr:1.0`], baseEnv), /signatures\s+\n\s+sha256:[a-f0-9]{64} {2}key sha256:/);
  });

  it('pulls into an empty store, verifies with the signing key and refuses another', async () => {
    const data = join(tmp, 'pulled');
    const pulled = await weftOk(['pull', `${registry.host}/apps/ocr:1.0`], env(data));
    assert.match(pulled, new RegExp(`as ${ocrDigest} \\(1 signature\\)`));
    const ref = `${registry.host}/apps/ocr:1.0`;
    assert.match(await weftOk(['verify', ref, '--key', join(tmp, 'good.pub')], env(data)), /verified/);
    const wrong = await runWeft(['verify', ref, '--key', join(tmp, 'other.pub')], env(data));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SIGNATURE_INVALID: .*not trusted/);
  });

  it('serves the bundle straight from the registry on a bare node: the app reads text, its models answer KServe v2', async () => {
    // An empty data dir and no model flags: everything the app needs comes from the registry.
    node = await startWeft(['--data-dir', nodeData(), '--trusted-keys', join(tmp, 'good.pub'), '--app', `${registry.host}/apps/ocr:1.0`], baseEnv);
    const lines = ['Bundled models 42', 'read from a registry'];
    const read = await fetch(`${node.url}/apps/ocr`, { method: 'POST', body: new Uint8Array((await renderText(lines)).png) });
    const text = (await read.json()) as { lines: Array<{ text: string }> };
    assert.equal(read.status, 200, JSON.stringify(text));
    const squash = (s: string) => s.replace(/\s+/g, '').toLowerCase();
    assert.deepEqual(text.lines.map((l) => squash(l.text)), lines.map(squash));
    const res = await postJson(`${node.url}/v2/models/ppocr-cls/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.5) }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.outputs[0].shape, [1, 2]);
    const sum = res.body.outputs[0].data[0] + res.body.outputs[0].data[1];
    assert.ok(Math.abs(sum - 1) < 1e-4);
    const apps = await fetchJson(`${node.url}/admin/apps`);
    assert.deepEqual(apps.body.apps.map((a: { name: string; digest: string; signedBy: string[] }) => [a.name, a.digest, a.signedBy.length]), [['ocr', ocrDigest, 1]]);
    const deployed = apps.body.apps[0] as { models: string[] };
    assert.deepEqual(deployed.models, ['ppocr-det', 'ppocr-rec', 'ppocr-cls']);
  });

  it('deploys and removes apps through the admin API', async () => {
    await publish(await writeSumApp(join(tmp, 'sum'), 'sum'), `${registry.host}/apps/sum:1`, join(tmp, 'good.key'));
    const deployed = await postJson(`${node.url}/admin/apps`, { ref: `${registry.host}/apps/sum:1` });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.deepEqual(deployed.body.app.models, ['sum-sum']);
    assert.equal(await inferSum(node.url, 'sum-sum'), 5);
    assert.equal((await postJson(`${node.url}/admin/apps`, { ref: `${registry.host}/apps/sum:1` })).body.code, 'APP_EXISTS');
    const removed = await fetchJson(`${node.url}/admin/apps/sum`, { method: 'DELETE' });
    assert.equal(removed.status, 200);
    assert.equal((await fetchJson(`${node.url}/v2/models/sum-sum`)).status, 404);
    assert.equal((await fetchJson(`${node.url}/admin/apps/sum`, { method: 'DELETE' })).body.code, 'APP_NOT_FOUND');
    const bad = await postJson(`${node.url}/admin/apps`, { reference: 'x' });
    assert.deepEqual([bad.status, bad.body.field], [400, 'ref']);
  });

  it('shares a model that two apps carry, and refuses another model under its name', async () => {
    const clsApp = join(tmp, 'cls-too');
    await mkdir(join(clsApp, 'models'), { recursive: true });
    await copyFile(join(OCR_APP, 'models', 'cls.onnx'), join(clsApp, 'models', 'cls.onnx'));
    await writeFile(join(clsApp, 'weft.json'), JSON.stringify({ name: 'cls-too', version: '1.0.0', models: [{ name: 'ppocr-cls', file: 'models/cls.onnx' }] }));
    await publish(clsApp, `${registry.host}/apps/cls-too:1`, join(tmp, 'good.key'));
    const shared = await postJson(`${node.url}/admin/apps`, { ref: `${registry.host}/apps/cls-too:1` });
    assert.equal(shared.status, 201, JSON.stringify(shared.body));
    assert.deepEqual(shared.body.app.models, ['ppocr-cls']);

    await publish(await writeSumApp(join(tmp, 'clash'), 'clash', { model: 'ppocr-cls', seed: 11 }), `${registry.host}/apps/clash:1`, join(tmp, 'good.key'));
    const clash = await postJson(`${node.url}/admin/apps`, { ref: `${registry.host}/apps/clash:1` });
    assert.deepEqual([clash.status, clash.body.code], [409, 'MODEL_CONFLICT'], JSON.stringify(clash.body));
    assert.match(clash.body.error, /app 'clash' brings model 'ppocr-cls' \(sha256:[a-f0-9]{64}\), but app 'ocr', 'cls-too' already serves a different model of that name \(sha256:491843a3/);

    // The OCR app still uses ppocr-cls: removing the other app that carries it keeps it served.
    assert.equal((await fetchJson(`${node.url}/admin/apps/cls-too`, { method: 'DELETE' })).status, 200);
    const cls = await postJson(`${node.url}/v2/models/ppocr-cls/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.5) }] });
    assert.equal(cls.status, 200, JSON.stringify(cls.body));
  });

  it('refuses unsigned, wrongly signed and tampered bundles, and serves nothing of them', async () => {
    const deploy = (ref: string) => postJson(`${node.url}/admin/apps`, { ref });
    await publish(await writeSumApp(join(tmp, 'unsigned'), 'unsigned', { seed: 1 }), `${registry.host}/apps/unsigned:1`, undefined);
    const unsigned = await deploy(`${registry.host}/apps/unsigned:1`);
    assert.deepEqual([unsigned.status, unsigned.body.code], [422, 'SIGNATURE_INVALID']);
    assert.match(unsigned.body.error, /carries no signature/);

    await publish(await writeSumApp(join(tmp, 'wrongkey'), 'wrongkey', { seed: 2 }), `${registry.host}/apps/wrongkey:1`, join(tmp, 'other.key'));
    const wrong = await deploy(`${registry.host}/apps/wrongkey:1`);
    assert.deepEqual([wrong.status, wrong.body.code], [422, 'SIGNATURE_INVALID']);
    assert.match(wrong.body.error, /is by key sha256:[a-f0-9]+, which is not trusted/);

    // A model blob changed inside the registry's storage: the pull's digest check stops it.
    const tamperedDir = await writeSumApp(join(tmp, 'tampered'), 'tampered', { seed: 3 });
    await publish(tamperedDir, `${registry.host}/apps/tampered:1`, join(tmp, 'good.key'));
    await flipByte(registryBlob((await digestFile(join(tamperedDir, 'models', 'sum.onnx'))).digest));
    const tampered = await deploy(`${registry.host}/apps/tampered:1`);
    assert.deepEqual([tampered.status, tampered.body.code], [422, 'DIGEST_MISMATCH']);
    assert.match(tampered.body.error, /does not verify/);
    const pull = await runWeft(['pull', `${registry.host}/apps/tampered:1`], env(join(tmp, 'tamper-pull')));
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, /DIGEST_MISMATCH/);
    assert.deepEqual(await readdir(join(tmp, 'tamper-pull', 'store', 'tags')), []);

    // A blob changed in the node's own store after a good pull: the open-time check stops it.
    const storeDir = await writeSumApp(join(tmp, 'storetamper'), 'storetamper', { seed: 4 });
    await publish(storeDir, `${registry.host}/apps/storetamper:1`, join(tmp, 'good.key'));
    await weftOk(['pull', `${registry.host}/apps/storetamper:1`], env(nodeData()));
    const modelDigest = (await digestFile(join(storeDir, 'models', 'sum.onnx'))).digest;
    await flipByte(join(nodeData(), 'store', 'blobs', 'sha256', modelDigest.slice(7)));
    const inStore = await deploy(`${registry.host}/apps/storetamper:1`);
    // Deploying by registry reference pulls again, skipping blobs the store has, then re-hashes them all.
    assert.deepEqual([inStore.status, inStore.body.code], [422, 'DIGEST_MISMATCH']);
    assert.match(inStore.body.error, /in the store .* does not match its digest/);

    const apps = await fetchJson(`${node.url}/admin/apps`);
    assert.deepEqual(apps.body.apps.map((a: { name: string }) => a.name), ['ocr']);
    for (const model of ['unsigned-sum', 'wrongkey-sum', 'tampered-sum', 'storetamper-sum']) {
      assert.equal((await fetchJson(`${node.url}/v2/models/${model}`)).status, 404, model);
    }

    const refused = await runWeft(['serve', '--port', '0', '--data-dir', join(tmp, 'refused'), '--trusted-keys', join(tmp, 'other.pub'), '--app', `${registry.host}/apps/sum:1`], baseEnv);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SIGNATURE_INVALID: refusing .*apps\/sum:1.*not trusted/);
  });

  it('completes a pull that was killed with SIGKILL halfway', async () => {
    // 24 Mi floats: a 96 MiB model, large enough to catch its pull in the middle.
    const bigDir = await writeSumApp(join(tmp, 'big'), 'big', { floats: 24 * 1024 * 1024, seed: 6 });
    const ref = `${registry.host}/apps/big:1`;
    await publish(bigDir, ref, join(tmp, 'good.key'));
    await rm(bigDir, { recursive: true });
    const storeTmp = join(nodeData(), 'store', 'tmp');
    const child = spawnWeft(['pull', ref], env(nodeData()));
    const exited = once(child, 'exit');
    let killed = false;
    while (!killed && child.exitCode === null) {
      for (const name of await readdir(storeTmp).catch(() => [] as string[])) {
        const size = await stat(join(storeTmp, name)).then((s) => s.size, () => 0);
        if (name.endsWith('.part') && size >= 1024 * 1024) {
          child.kill('SIGKILL');
          killed = true;
          break;
        }
      }
      await sleep(2);
    }
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL', 'the pull finished before the test could kill it');
    const tags = (await readdir(join(nodeData(), 'store', 'tags'))).map(decodeURIComponent);
    assert.ok(!tags.includes(ref), 'a killed pull must not leave a tag');
    assert.ok((await readdir(storeTmp)).some((n) => n.endsWith('.part')));

    await weftOk(['pull', ref], env(nodeData()));
    assert.match(await weftOk(['verify', ref, '--key', join(tmp, 'good.pub')], env(nodeData())), /verified/);
    const deployed = await postJson(`${node.url}/admin/apps`, { ref });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.equal(await inferSum(node.url, 'big-sum'), 5);
  });

  it('serves app folders and OCI layouts unsigned only with --allow-unsigned', async () => {
    const folder = await writeSumApp(join(tmp, 'folderapp'), 'folderapp', { seed: 8 });
    const layoutApp = await writeSumApp(join(tmp, 'layoutapp'), 'layoutapp', { seed: 9 });
    await weftOk(['pack', layoutApp, '-o', `${layoutApp}.oci`], baseEnv);
    const data = join(tmp, 'unsigned-node');
    const refused = await runWeft(['serve', '--port', '0', '--data-dir', data, '--app', folder], baseEnv);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SIGNATURE_INVALID: refusing app folder .* a folder carries no signature/);
    const lenient = await startWeft(['--data-dir', data, '--allow-unsigned', '--app', folder, '--app', `${layoutApp}.oci`], baseEnv);
    try {
      assert.equal(await inferSum(lenient.url, 'folderapp-sum'), 5);
      assert.equal(await inferSum(lenient.url, 'layoutapp-sum'), 5);
      // Embedded models are served only when the node is given no models and no apps.
      assert.equal((await fetchJson(`${lenient.url}/v2/models/ppocr-cls`)).status, 404);
    } finally {
      assert.equal(await lenient.stop(), 0);
    }
  });

  it('serves the copy pulled before when the registry is out of reach', async () => {
    const gone = await startRegistry();
    const ref = `${gone.host}/apps/sum:1`;
    try {
      await weftOk(['push', ref, '--from', `${join(tmp, 'sum')}.oci`], baseEnv);
      await weftOk(['pull', ref], env(nodeData()));
    } finally {
      await gone.stop();
    }
    const deployed = await postJson(`${node.url}/admin/apps`, { ref });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.equal(await inferSum(node.url, 'sum-sum'), 5);
    assert.match(node.logs(), /cannot reach registry .*; serving the copy of .* pulled before/);
    assert.equal((await fetchJson(`${node.url}/admin/apps/sum`, { method: 'DELETE' })).status, 200);
  });

  it('lets two processes pull the same bundle into one store at once', async () => {
    const data = join(tmp, 'concurrent');
    const ref = `${registry.host}/apps/ocr:1.0`;
    const [a, b] = await Promise.all([runWeft(['pull', ref], env(data)), runWeft(['pull', ref], env(data))]);
    assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr);
    assert.match(await weftOk(['verify', ref, '--key', join(tmp, 'good.pub')], env(data)), /verified/);
    assert.deepEqual(await readdir(join(data, 'store', 'tmp')), []);
  });

  it('pushes in chunks and mounts blobs across repositories', async () => {
    const chunked = `${registry.host}/chunked/ocr:1`;
    const pushed = await weftOk(['push', chunked, '--from', ocrLayout, '--upload-chunk-size', '1MiB'], baseEnv);
    assert.ok(pushed.includes(ocrDigest), pushed);
    const pulled = await weftOk(['pull', chunked], env(join(tmp, 'chunked-pull')));
    assert.ok(pulled.includes(ocrDigest), pulled);
    const mounted = await weftOk(['push', `${registry.host}/mounted/ocr:1`, '--from', `${registry.host}/apps/ocr:1.0`], baseEnv);
    assert.ok(mounted.includes(ocrDigest), mounted);
    assert.match(await weftOk(['verify', `${registry.host}/mounted/ocr:1`, '--key', join(tmp, 'good.pub')], baseEnv), /verified/);
  });
});

describe('registry auth', () => {
  let secured: TestRegistry;
  let tokens: TokenService;
  let tokenRegistry: TestRegistry;
  before(async () => {
    secured = await startRegistry({ users: { alice: 'wonderland' } });
    tokens = await startTokenService(tmp, { bob: 'builder' });
    tokenRegistry = await startRegistry({ token: tokens });
  });
  after(async () => {
    await secured?.stop();
    await tokenRegistry?.stop();
    await tokens?.stop();
  });

  it('follows the Bearer token flow, asking the token service for each scope', async () => {
    const ref = `${tokenRegistry.host}/team/ocr:1`;
    const anonymous = await runWeft(['push', ref, '--from', ocrLayout], baseEnv);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /REGISTRY_UNAUTHORIZED: token service .* refused anonymous access/);
    const bob = { WEFT_REGISTRY_USERNAME: 'bob', WEFT_REGISTRY_PASSWORD: 'builder' };
    assert.ok((await weftOk(['push', ref, '--from', ocrLayout], { ...baseEnv, ...bob })).includes(ocrDigest));
    const pulled = await weftOk(['pull', ref], env(join(tmp, 'token-pull'), bob));
    assert.match(pulled, new RegExp(`as ${ocrDigest} \\(1 signature\\)`));
    // Same registry, another repository: blobs are mounted with a token for both repositories.
    assert.ok((await weftOk(['push', `${tokenRegistry.host}/team/copy:1`, '--from', ref], { ...baseEnv, ...bob })).includes(ocrDigest));
    // The mount request (POST ?mount=…&from=team/ocr) asks for push here and pull there in one token.
    // The registry may name the actions in either order ("pull,push" or "push,pull").
    const grants = (scope: string, repository: string, actions: string[]) => {
      const [kind, name, list] = scope.split(':');
      return kind === 'repository' && name === repository && actions.every((a) => list!.split(',').includes(a));
    };
    const mount = tokens.scopes.some((request) => {
      const scopes = request.flatMap((s) => s.split(' '));
      return scopes.some((s) => grants(s, 'team/copy', ['pull', 'push'])) && scopes.some((s) => grants(s, 'team/ocr', ['pull']));
    });
    assert.ok(mount, JSON.stringify(tokens.scopes));
  });

  it('needs credentials, refuses wrong ones, and reads them from a Docker config or the environment', async () => {
    const ref = `${secured.host}/team/ocr:1`;
    const none = await runWeft(['push', ref, '--from', ocrLayout], baseEnv);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /REGISTRY_UNAUTHORIZED: registry .* needs credentials/);

    const dockerConfig = join(tmp, 'docker-config.json');
    const auth = (password: string) => JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } });
    await writeFile(dockerConfig, auth('not-it'));
    const wrong = await runWeft(['push', ref, '--from', ocrLayout], { ...baseEnv, WEFT_DOCKER_CONFIG: dockerConfig });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /REGISTRY_UNAUTHORIZED: .*refused the credentials of user 'alice'/);

    await writeFile(dockerConfig, auth('wonderland'));
    assert.ok((await weftOk(['push', ref, '--from', ocrLayout], { ...baseEnv, WEFT_DOCKER_CONFIG: dockerConfig })).includes(ocrDigest));
    const pulled = await weftOk(['pull', ref], env(join(tmp, 'auth-pull'), { WEFT_REGISTRY_USERNAME: 'alice', WEFT_REGISTRY_PASSWORD: 'wonderland' }));
    assert.match(pulled, /\(1 signature\)/);
    assert.ok(JSON.parse(await readFile(dockerConfig, 'utf8')).auths);
  });

  it('sends flag credentials only to the registry they belong to, and never to a token service on another host', async () => {
    const ref = `${secured.host}/team/ocr:1`;
    const alice = { WEFT_REGISTRY_USERNAME: 'alice', WEFT_REGISTRY_PASSWORD: 'wonderland' };
    // Given for another registry, they stay there: the secured one sees no credentials.
    const elsewhere = await runWeft(['pull', ref], env(join(tmp, 'scoped-elsewhere'), { ...alice, WEFT_REGISTRY_HOST: 'registry.example:5000' }));
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /REGISTRY_UNAUTHORIZED: registry .* needs credentials: .*--registry-host/);
    assert.doesNotMatch(elsewhere.stderr, /wonderland/);
    assert.match(await weftOk(['pull', ref], env(join(tmp, 'scoped-here'), { ...alice, WEFT_REGISTRY_HOST: secured.host })), /\(1 signature\)/);

    // A registry whose token realm is another host (localhost, not 127.0.0.1) asks for a token anonymously.
    const port = new URL(tokens.realm).port;
    const foreign = await startRegistry({ token: { ...tokens, realm: `http://localhost:${port}/token` } });
    try {
      const issued = tokens.scopes.length;
      const push = await runWeft(['push', `${foreign.host}/team/ocr:1`, '--from', ocrLayout], { ...baseEnv, WEFT_REGISTRY_USERNAME: 'bob', WEFT_REGISTRY_PASSWORD: 'builder' });
      assert.equal(push.code, 1);
      assert.match(push.stderr, /token service http:\/\/localhost:\d+ refused anonymous access \(credentials for .* are not sent to another host/);
      assert.equal(tokens.scopes.length, issued, 'the token service saw no valid credentials');
      assert.match(push.stderr, /--registry-token-host localhost:\d+/, 'the error says how to trust it');
      // Trusted by name (as Docker Hub's auth.docker.io is for registry-1.docker.io), it gets them.
      const trusted = await weftOk(['push', `${foreign.host}/team/ocr:1`, '--from', ocrLayout], { ...baseEnv, WEFT_REGISTRY_USERNAME: 'bob', WEFT_REGISTRY_PASSWORD: 'builder', WEFT_REGISTRY_TOKEN_HOSTS: 'localhost' });
      assert.ok(trusted.includes(ocrDigest), trusted);
      assert.ok(tokens.scopes.length > issued, 'the trusted token service issued tokens');
    } finally {
      await foreign.stop();
    }
  });
});
