// The node's content-addressed store as a Target: pulls and local packs copy into it, and the
// node opens bundles from it. Tags are full references (e.g. `127.0.0.1:5000/ocr:1.0` or `ocr:1.0`).

import { stat } from 'node:fs/promises';
import { ErrorCode, WeftError } from '../errors.js';
import { isDigest, type BlobSource, type BlobStore } from '../store/index.js';
import { MAX_MANIFEST_BYTES, MediaType, parseImageManifest, type Descriptor } from './oci.js';
import { tracked, type Progress, type Target } from './target.js';

export interface StoreTargetOptions {
  /**
   * Re-hash blobs the store already has before a copy skips them, and replace those that no
   * longer match their digest: what `weft pull` does, so that pulling again repairs a damaged copy.
   */
  verifyExisting?: boolean;
}

export class StoreTarget implements Target {
  readonly name: string;
  /** Blobs replaced because the stored copy no longer matched its digest. */
  repaired = 0;

  constructor(
    readonly store: BlobStore,
    private readonly options: StoreTargetOptions = {},
  ) {
    this.name = `store ${store.root}`;
  }

  async getManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const digest = isDigest(reference) ? reference : await this.store.resolveTag(reference);
    if (digest === undefined) throw new WeftError(ErrorCode.BundleNotFound, `no bundle tagged '${reference}' in the ${this.name} (see \`weft pull\`)`);
    let size: number;
    try {
      size = (await stat(this.store.blobPath(digest))).size;
    } catch (err) {
      throw new WeftError(ErrorCode.BundleNotFound, `manifest ${digest} ('${reference}') is not in the ${this.name}; pull it again`, { cause: err });
    }
    if (size > MAX_MANIFEST_BYTES) throw new WeftError(ErrorCode.InvalidBundle, `${this.name}: manifest ${digest} is too large`);
    const bytes = await this.store.readVerified({ digest, size }, this.name);
    return { descriptor: { mediaType: MediaType.ImageManifest, digest, size }, bytes };
  }

  async openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    if (!(await this.store.has(descriptor.digest))) throw new WeftError(ErrorCode.BundleNotFound, `${this.name}: blob ${descriptor.digest} is missing; pull again`);
    return this.store.openStream(descriptor.digest);
  }

  hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.options.verifyExisting ? this.store.intact(descriptor) : this.store.has(descriptor.digest);
  }

  private async put(descriptor: Descriptor, source: BlobSource): Promise<'stored' | 'present' | 'repaired'> {
    const outcome = await this.store.put(descriptor, source, this.name, { verifyExisting: this.options.verifyExisting === true });
    if (outcome === 'repaired') this.repaired++;
    return outcome;
  }

  async putBlob(descriptor: Descriptor, source: BlobSource, progress?: Progress): Promise<void> {
    const transfer = tracked(descriptor, source, progress);
    const outcome = await this.put(descriptor, transfer.source);
    transfer.done(outcome === 'present' ? 'already stored' : outcome === 'repaired' ? 'repaired: the stored copy did not match its digest' : undefined);
  }

  async putManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    await this.put(descriptor, () => [bytes]);
    const { subject } = parseImageManifest(bytes, this.name);
    if (subject) await this.store.addReferrer(subject.digest, descriptor.digest);
  }

  tag(descriptor: Descriptor, _bytes: Buffer, tag: string): Promise<void> {
    return this.store.setTag(tag, descriptor.digest);
  }

  async referrers(subject: Descriptor): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const digest of await this.store.referrers(subject.digest)) {
      const { descriptor, bytes } = await this.getManifest(digest);
      const m = parseImageManifest(bytes, this.name);
      out.push({ ...descriptor, artifactType: m.artifactType ?? m.config.mediaType, ...(m.annotations ? { annotations: m.annotations } : {}) });
    }
    return out;
  }
}
