import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ErrorCode } from '../errors.js';
import { BlobStore, digestFile, sha256 } from '../store/index.js';
import { Annotation, encodeJson, MediaType, parseImageManifest } from './oci.js';
import { OciLayout } from './layout.js';
import { packApp } from './pack.js';
import { checkSignatures, generateSigningKey, signBundle } from './sign.js';
import { StoreTarget } from './store-target.js';
import { copyBundle } from './copy.js';
import { openStoredBundle } from './open.js';
import { parseRegistryReference, looksLikeRegistryReference } from './registry/reference.js';
import { dockerConfigCredentials, parseChallenge } from './registry/auth.js';

let root: string;
let appDir: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-bundle-'));
  appDir = join(root, 'app');
  await mkdir(join(appDir, 'models'), { recursive: true });
  await writeFile(join(appDir, 'models', 'a.onnx'), Buffer.alloc(300_000, 7));
  await writeFile(join(appDir, 'models', 'b.gguf'), 'gguf bytes');
  await writeFile(
    join(appDir, 'weft.json'),
    JSON.stringify({ name: 'demo', version: '0.1.0', models: [{ name: 'a', file: 'models/a.onnx' }, { name: 'b', file: 'models/b.gguf' }] }),
  );
});
after(() => rm(root, { recursive: true, force: true }));

function keys(algorithm: 'ed25519' | 'ecdsa-p256') {
  const { privatePem, publicPem } = generateSigningKey(algorithm);
  return { priv: createPrivateKey(privatePem), pub: createPublicKey(publicPem) };
}

describe('pack', () => {
  it('writes an OCI image layout with the app artifact type, config and a layer per file', async () => {
    const layout = await OciLayout.create(join(root, 'one.oci'));
    const d = await packApp(appDir, layout, { tag: 'v1' });
    assert.deepEqual(JSON.parse(await readFile(join(layout.dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = await layout.readIndex();
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]!.annotations?.[Annotation.RefName], 'v1');
    const { bytes } = await layout.getManifest('v1');
    const m = parseImageManifest(bytes, 'test');
    assert.equal(m.artifactType, MediaType.App);
    assert.equal(m.config.mediaType, MediaType.AppConfig);
    assert.deepEqual(
      m.layers.map((l) => [l.mediaType, l.annotations?.[Annotation.Title], l.annotations?.[Annotation.ModelName], l.annotations?.[Annotation.ModelFormat], l.size]),
      [
        [MediaType.ModelOnnx, 'models/a.onnx', 'a', 'onnx', 300_000],
        [MediaType.ModelGguf, 'models/b.gguf', 'b', 'gguf', 10],
      ],
    );
    const again = await packApp(appDir, await OciLayout.create(join(root, 'two.oci')), { tag: 'v1' });
    assert.equal(again.digest, d.digest);
    assert.equal(await readFile(join(root, 'two.oci', 'index.json'), 'utf8'), await readFile(join(layout.dir, 'index.json'), 'utf8'));
  });
});

describe('signatures', () => {
  for (const algorithm of ['ed25519', 'ecdsa-p256'] as const) {
    it(`verify with the signer's ${algorithm} key and not with another`, async () => {
      const layout = await OciLayout.create(join(root, `sig-${algorithm}.oci`));
      const subject = await packApp(appDir, layout);
      const signer = keys(algorithm);
      const sig = await signBundle(layout, subject, signer.priv);
      const refs = await layout.referrers(subject);
      assert.deepEqual(refs.map((r) => [r.digest, r.artifactType]), [[sig.digest, MediaType.Signature]]);
      assert.equal((await checkSignatures(layout, subject, [signer.pub])).verifiedBy.length, 1);
      const other = await checkSignatures(layout, subject, [keys(algorithm).pub]);
      assert.equal(other.verifiedBy.length, 0);
      assert.match(other.rejected[0]!, /not trusted/);
    });
  }

  it('a signature does not carry over to another manifest', async () => {
    const layout = await OciLayout.create(join(root, 'swap.oci'));
    const subject = await packApp(appDir, layout);
    const signer = keys('ed25519');
    await signBundle(layout, subject, signer.priv);
    const forged = { ...subject, digest: `sha256:${'0'.repeat(64)}` };
    assert.equal((await checkSignatures(layout, forged, [signer.pub])).verifiedBy.length, 0);
  });
});

describe('opening a stored bundle', () => {
  it('needs a trusted signature unless unsigned apps are allowed, and checks every blob', async () => {
    const store = new StoreTarget(new BlobStore(join(root, 'store')));
    const layout = await OciLayout.create(join(root, 'open.oci'));
    const subject = await packApp(appDir, layout);
    const signer = keys('ed25519');
    await copyBundle(layout, '', store, { tag: 'demo:0.1.0' });
    await assert.rejects(openStoredBundle(store, 'demo:0.1.0', 'demo', { trustedKeys: [signer.pub], allowUnsigned: false }), (err: { code: string; message: string }) => {
      assert.equal(err.code, ErrorCode.SignatureInvalid);
      assert.match(err.message, /carries no signature/);
      return true;
    });
    const unsigned = await openStoredBundle(store, 'demo:0.1.0', 'demo', { trustedKeys: [], allowUnsigned: true });
    assert.deepEqual(unsigned.signedBy, []);

    await signBundle(layout, subject, signer.priv);
    await copyBundle(layout, '', store, { tag: 'demo:0.1.0' });
    const app = await openStoredBundle(store, 'demo:0.1.0', 'demo', { trustedKeys: [signer.pub], allowUnsigned: false });
    assert.equal(app.signedBy.length, 1);
    assert.equal((await readFile(app.filePath('models/b.gguf'))).toString(), 'gguf bytes');

    await writeFile(app.filePath('models/b.gguf'), 'GGUF BYTES');
    await assert.rejects(openStoredBundle(store, 'demo:0.1.0', 'demo', { trustedKeys: [signer.pub], allowUnsigned: false }), (err: { code: string }) => err.code === ErrorCode.DigestMismatch);
  });
});

describe('the models a bundle carries', () => {
  it('opens each model layer by its digest, refuses a changed one naming its file, and one that contradicts weft.json', async () => {
    const store = new StoreTarget(new BlobStore(join(root, 'models-store')));
    const layout = await OciLayout.create(join(root, 'models.oci'));
    const subject = await packApp(appDir, layout);
    await copyBundle(layout, '', store, { tag: 'demo:1' });
    const open = (ref: string) => openStoredBundle(store, ref, 'demo', { trustedKeys: [], allowUnsigned: true });
    const app = await open('demo:1');
    assert.equal(await app.fileDigest('models/a.onnx'), (await digestFile(join(appDir, 'models', 'a.onnx'))).digest);
    assert.equal(app.filePath('models/a.onnx'), store.store.blobPath(await app.fileDigest('models/a.onnx')));

    // A manifest whose model layer says another model name (or is not a model) than weft.json does.
    const { bytes } = await store.getManifest(subject.digest);
    const manifest = parseImageManifest(bytes, 'test');
    for (const layer of [
      { ...manifest.layers[0]!, annotations: { ...manifest.layers[0]!.annotations, [Annotation.ModelName]: 'not-a' } },
      { ...manifest.layers[0]!, mediaType: MediaType.Wasm },
    ]) {
      const forged = encodeJson({ ...manifest, layers: [layer, manifest.layers[1]!] });
      const descriptor = { mediaType: MediaType.ImageManifest, digest: sha256(forged), size: forged.byteLength };
      await store.putManifest(descriptor, forged);
      await assert.rejects(open(descriptor.digest), (err: { code: string; message: string }) => {
        assert.equal(err.code, ErrorCode.InvalidBundle);
        assert.match(err.message, /models\[0\] \('a'\): weft.json makes 'models\/a.onnx' the onnx model 'a', but its layer is application\/(vnd.weft.model.onnx.v1 named 'not-a'|wasm named 'a')$/);
        return true;
      });
    }

    const blob = app.filePath('models/a.onnx');
    const original = await readFile(blob);
    await writeFile(blob, Buffer.alloc(original.byteLength, 8));
    await assert.rejects(open('demo:1'), (err: { code: string; message: string }) => {
      assert.equal(err.code, ErrorCode.DigestMismatch);
      assert.match(err.message, /^demo \(models\/a\.onnx\): blob sha256:[a-f0-9]{64} in the store .* does not match its digest/);
      return true;
    });
  });
});

describe('registry references and credentials', () => {
  it('parses host[:port]/repo[:tag][@digest] and tells store tags apart', () => {
    assert.deepEqual(parseRegistryReference('127.0.0.1:5000/apps/ocr:1.0'), { registry: '127.0.0.1:5000', repository: 'apps/ocr', tag: '1.0', digest: undefined });
    assert.equal(parseRegistryReference('ghcr.io/acme/ocr').tag, 'latest');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseRegistryReference(`localhost/ocr@${digest}`), { registry: 'localhost', repository: 'ocr', tag: undefined, digest });
    assert.equal(looksLikeRegistryReference('ocr:1.0'), false);
    assert.equal(looksLikeRegistryReference('apps/ocr:1.0'), false);
    assert.throws(() => parseRegistryReference('localhost:5000/Bad:1'), (err: { code: string }) => err.code === ErrorCode.InvalidReference);
  });

  it('refuses credentials in a reference without echoing them', () => {
    assert.throws(
      () => parseRegistryReference('alice:s3cret@registry.example/apps/ocr:1'),
      (err: { code: string; message: string }) => err.code === ErrorCode.InvalidReference && err.message.includes('registry.example/apps/ocr:1') && !err.message.includes('s3cret') && !err.message.includes('alice'),
    );
  });

  it('reads docker config auths and bearer challenges', async () => {
    const path = join(root, 'config.json');
    await writeFile(path, JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from('alice:s3:cret').toString('base64') } } }));
    assert.deepEqual(dockerConfigCredentials(path, 'reg.example:5000'), { username: 'alice', password: 's3:cret' });
    assert.equal(dockerConfigCredentials(path, 'other.example'), undefined);
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry', scope: 'repository:a/b:pull,push' },
    });
  });
});
