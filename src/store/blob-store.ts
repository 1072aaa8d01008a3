// The node's content-addressed store: blobs under <dataDir>/store/blobs/sha256/<hex>, tags
// (name:tag → manifest digest) and referrers (signatures of a manifest). Every write goes to a
// temp file, is fsynced, digest-checked and renamed into place, so a blob path that exists is
// always complete; a pull killed halfway leaves only temp files, which the next pull ignores and
// `weft gc` or the next node start removes (temp.ts).

import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { digestHex, sha256 } from './digest.js';
import { tempPath } from './temp.js';

export interface BlobRef {
  digest: string;
  size: number;
}

/** Where a blob's bytes come from; called at most once per write. */
export type BlobSource = () => Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes bytes to `path` atomically: temp file in `tmpDir`, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(path: string, dir: string, tmpDir: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = tempPath(tmpDir, 'write', 'tmp');
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Streams `source` into `final` through a temp file, checking size and digest before the rename.
 * Memory stays bounded by the stream's chunk size whatever the blob's size.
 */
export async function writeBlobAtomic(blob: BlobRef, source: BlobSource, final: string, tmpDir: string, origin: string): Promise<void> {
  const tmp = tempPath(tmpDir, digestHex(blob.digest), 'part');
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(tmp, 'wx');
  try {
    for await (const chunk of await source()) {
      size += chunk.byteLength;
      if (size > blob.size) {
        throw new WeftError(ErrorCode.DigestMismatch, `${origin}: blob ${blob.digest} is larger than the ${blob.size} bytes its descriptor says`);
      }
      hash.update(chunk);
      await fh.write(chunk);
    }
    await fh.sync();
    await fh.close();
    const got = `sha256:${hash.digest('hex')}`;
    if (size !== blob.size || got !== blob.digest) {
      throw new WeftError(
        ErrorCode.DigestMismatch,
        `${origin}: blob ${blob.digest} does not verify: got ${size} bytes with digest ${got}, expected ${blob.size} bytes`,
      );
    }
    await rename(tmp, final);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(join(final, '..'));
}

export class BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly tagsDir: string;
  readonly referrersDir: string;
  /** Writes in progress in this process, by digest: a second pull of the same blob waits for the first. */
  private readonly writing = new Map<string, Promise<void>>();
  private ready: Promise<void> | undefined;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.tmpDir = join(root, 'tmp');
    this.tagsDir = join(root, 'tags');
    this.referrersDir = join(root, 'referrers');
  }

  private init(): Promise<void> {
    return (this.ready ??= (async () => {
      for (const dir of [this.blobsDir, this.tmpDir, this.tagsDir, this.referrersDir]) await mkdir(dir, { recursive: true });
    })());
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  /** True when the blob is in the store; a blob path only ever holds a complete, verified write. */
  async has(digest: string): Promise<boolean> {
    try {
      return (await stat(this.blobPath(digest))).isFile();
    } catch {
      return false;
    }
  }

  /** True when the blob is in the store and still matches its digest (re-hashed). */
  async intact(blob: BlobRef): Promise<boolean> {
    try {
      await this.verify(blob);
      return true;
    } catch (err) {
      if (err instanceof WeftError && (err.code === ErrorCode.DigestMismatch || err.code === ErrorCode.BundleNotFound)) return false;
      throw err;
    }
  }

  /**
   * Stores a blob unless it is there already; with `verifyExisting`, a stored copy that no longer
   * matches its digest is replaced ('repaired'). Concurrent calls for one digest in this process
   * do the work once; across processes each writes its own temp file and the atomic rename makes
   * either complete copy the one that stays.
   */
  async put(blob: BlobRef, source: BlobSource, origin = 'store', options: { verifyExisting?: boolean } = {}): Promise<'stored' | 'present' | 'repaired'> {
    const pending = this.writing.get(blob.digest);
    if (pending) {
      // Whatever the first write's outcome, look again: present now, or ours to write.
      await pending;
      return this.put(blob, source, origin, options);
    }
    const work = (async () => {
      await this.init();
      let outcome: 'stored' | 'repaired' = 'stored';
      if (await this.has(blob.digest)) {
        if (!options.verifyExisting || (await this.intact(blob))) return 'present' as const;
        outcome = 'repaired';
      }
      // The rename replaces a damaged copy atomically: a reader sees the old file or the new one.
      await writeBlobAtomic(blob, source, this.blobPath(blob.digest), this.tmpDir, origin);
      return outcome;
    })();
    // Registered before the first await, so a concurrent put of this digest always finds it.
    this.writing.set(blob.digest, work.then(() => undefined, () => undefined));
    try {
      return await work;
    } finally {
      this.writing.delete(blob.digest);
    }
  }

  /** A blob's bytes (small blobs only: manifests, configs), verified against the digest. */
  async readVerified(blob: BlobRef, origin = 'store'): Promise<Buffer> {
    const bytes = await this.readRaw(blob.digest);
    if (bytes.byteLength !== blob.size || sha256(bytes) !== blob.digest) {
      throw new WeftError(ErrorCode.DigestMismatch, `${origin}: blob ${blob.digest} in the store at ${this.blobPath(blob.digest)} does not match its digest; run \`weft pull\` again to repair it (it re-fetches damaged blobs)`);
    }
    return bytes;
  }

  private async readRaw(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (err) {
      throw new WeftError(ErrorCode.BundleNotFound, `blob ${digest} is not in the store`, { cause: err });
    }
  }

  /** Re-hashes a stored blob (streamed); a blob changed on disk since it was written is refused. */
  async verify(blob: BlobRef, origin = 'store'): Promise<void> {
    const path = this.blobPath(blob.digest);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
    } catch (err) {
      throw new WeftError(ErrorCode.BundleNotFound, `${origin}: blob ${blob.digest} is not in the store`, { cause: err });
    }
    if (size !== blob.size || `sha256:${hash.digest('hex')}` !== blob.digest) {
      throw new WeftError(ErrorCode.DigestMismatch, `${origin}: blob ${blob.digest} in the store at ${path} does not match its digest; run \`weft pull\` again to repair it (it re-fetches damaged blobs)`);
    }
  }

  openStream(digest: string): ReadStream {
    return createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
  }

  /** Points a tag at a manifest digest, atomically (a reader sees the old or the new value). */
  async setTag(name: string, digest: string): Promise<void> {
    await this.init();
    digestHex(digest);
    await writeFileAtomic(join(this.tagsDir, encodeURIComponent(name)), this.tagsDir, this.tmpDir, `${digest}\n`);
  }

  async resolveTag(name: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.tagsDir, encodeURIComponent(name)), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }

  async removeTag(name: string): Promise<boolean> {
    const path = join(this.tagsDir, encodeURIComponent(name));
    try {
      await rm(path);
      return true;
    } catch {
      return false;
    }
  }

  async tags(): Promise<Array<{ name: string; digest: string }>> {
    await this.init();
    const names = (await readdir(this.tagsDir)).sort();
    const out: Array<{ name: string; digest: string }> = [];
    for (const file of names) {
      const name = decodeURIComponent(file);
      const digest = await this.resolveTag(name);
      if (digest !== undefined) out.push({ name, digest });
    }
    return out;
  }

  /** Records that `referrer` (a stored manifest) refers to `subject`; written after the referrer blob. */
  async addReferrer(subject: string, referrer: string): Promise<void> {
    await this.init();
    const dir = join(this.referrersDir, digestHex(subject));
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, digestHex(referrer)), dir, this.tmpDir, '');
  }

  async referrers(subject: string): Promise<string[]> {
    try {
      return (await readdir(join(this.referrersDir, digestHex(subject)))).sort().map((hex) => `sha256:${hex}`);
    } catch {
      return [];
    }
  }
}
