import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, collectGarbage, sha256 } from './index.js';
import { ErrorCode } from '../errors.js';

const dirs: string[] = [];
async function newStore(): Promise<BlobStore> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
  dirs.push(dir);
  return new BlobStore(dir);
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function blob(text: string) {
  const bytes = Buffer.from(text);
  return { bytes, ref: { digest: sha256(bytes), size: bytes.byteLength } };
}

describe('BlobStore', () => {
  it('stores a blob once and reads it back verified', async () => {
    const store = await newStore();
    const { bytes, ref } = blob('hello');
    assert.equal(await store.put(ref, () => [bytes]), 'stored');
    assert.equal(await store.put(ref, () => [bytes]), 'present');
    assert.deepEqual(await store.readVerified(ref), bytes);
    await store.verify(ref);
  });

  it('refuses bytes that do not match the digest and leaves nothing behind', async () => {
    const store = await newStore();
    const { ref } = blob('expected');
    await assert.rejects(store.put(ref, () => [Buffer.from('tampered')]), (err: { code: string }) => err.code === ErrorCode.DigestMismatch);
    await assert.rejects(store.put(ref, () => [Buffer.from('expected and more')]), (err: { code: string }) => err.code === ErrorCode.DigestMismatch);
    assert.equal(await store.has(ref.digest), false);
    assert.deepEqual(await readdir(join(store.root, 'tmp')), []);
  });

  it('does the work once for concurrent puts of one blob', async () => {
    const store = await newStore();
    const { bytes, ref } = blob('shared');
    let opened = 0;
    const source = async function* () {
      opened++;
      yield bytes;
    };
    const outcomes = await Promise.all([store.put(ref, source), store.put(ref, source), store.put(ref, source)]);
    assert.equal(opened, 1);
    assert.deepEqual(outcomes.sort(), ['present', 'present', 'stored']);
  });

  it('catches a blob changed on disk after it was stored', async () => {
    const store = await newStore();
    const { bytes, ref } = blob('original');
    await store.put(ref, () => [bytes]);
    await writeFile(store.blobPath(ref.digest), 'modified');
    await assert.rejects(store.verify(ref), /does not match its digest/);
    await assert.rejects(store.readVerified(ref), (err: { code: string }) => err.code === ErrorCode.DigestMismatch);
  });

  it('keeps tags and referrers', async () => {
    const store = await newStore();
    const { bytes, ref } = blob('{"m":1}');
    await store.put(ref, () => [bytes]);
    await store.setTag('127.0.0.1:5000/apps/x:1.0', ref.digest);
    assert.equal(await store.resolveTag('127.0.0.1:5000/apps/x:1.0'), ref.digest);
    assert.deepEqual(await store.tags(), [{ name: '127.0.0.1:5000/apps/x:1.0', digest: ref.digest }]);
    const sig = blob('{"sig":1}');
    await store.addReferrer(ref.digest, sig.ref.digest);
    assert.deepEqual(await store.referrers(ref.digest), [sig.ref.digest]);
  });
});

describe('collectGarbage', () => {
  it('removes what no tag reaches, keeps manifests, their blobs and signatures', async () => {
    const store = await newStore();
    const layer = blob('layer bytes');
    const config = blob('{}');
    const orphan = blob('orphan');
    const manifest = blob(JSON.stringify({ schemaVersion: 2, config: { digest: config.ref.digest }, layers: [{ digest: layer.ref.digest }] }));
    const sigPayload = blob('payload');
    const sig = blob(JSON.stringify({ schemaVersion: 2, config: { digest: config.ref.digest }, layers: [{ digest: sigPayload.ref.digest }], subject: { digest: manifest.ref.digest } }));
    for (const b of [layer, config, orphan, manifest, sigPayload, sig]) await store.put(b.ref, () => [b.bytes]);
    await store.setTag('app:1', manifest.ref.digest);
    await store.addReferrer(manifest.ref.digest, sig.ref.digest);
    // A temp file from a pull killed long ago, and one that may still be written.
    await writeFile(join(store.tmpDir, 'old.part'), 'x');
    await utimes(join(store.tmpDir, 'old.part'), new Date(0), new Date(0));
    await writeFile(join(store.tmpDir, 'new.part'), 'x');

    const result = await collectGarbage(store);
    assert.equal(result.removedBlobs, 1);
    assert.equal(result.removedBytes, orphan.bytes.byteLength);
    assert.equal(result.keptBlobs, 5);
    assert.equal(await store.has(orphan.ref.digest), false);
    assert.deepEqual(await readdir(store.tmpDir), ['new.part']);

    await store.removeTag('app:1');
    assert.equal((await collectGarbage(store)).removedBlobs, 5);
    assert.deepEqual(await readdir(store.referrersDir), []);
  });
});
