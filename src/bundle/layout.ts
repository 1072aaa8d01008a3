// An OCI image layout folder (image-spec 1.1: `oci-layout`, `index.json`, `blobs/sha256/…`) as a
// Target: what `weft pack -o` writes and what push, sign and serve read. Referrers (signatures)
// are listed in index.json untagged and found by their `subject`, as ORAS does.

import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { digestHex, sha256, writeBlobAtomic, writeFileAtomic, type BlobSource } from '../store/index.js';
import { Annotation, encodeJson, MAX_MANIFEST_BYTES, MediaType, parseImageIndex, parseImageManifest, type Descriptor, type ImageIndex } from './oci.js';
import { tracked, type Progress, type Target } from './target.js';

export class OciLayout implements Target {
  readonly dir: string;
  readonly name: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.name = `OCI layout ${this.dir}`;
  }

  static isLayout(dir: string): boolean {
    return existsSync(join(dir, 'oci-layout'));
  }

  /** Opens a layout folder, creating an empty one when it does not exist yet. */
  static async create(dir: string): Promise<OciLayout> {
    const layout = new OciLayout(dir);
    await mkdir(join(layout.dir, 'blobs', 'sha256'), { recursive: true });
    if (!existsSync(join(layout.dir, 'oci-layout'))) await layout.write('oci-layout', encodeJson({ imageLayoutVersion: '1.0.0' }));
    if (!existsSync(join(layout.dir, 'index.json'))) await layout.writeIndex({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] });
    return layout;
  }

  private write(file: string, bytes: Buffer): Promise<void> {
    return writeFileAtomic(join(this.dir, file), this.dir, this.dir, bytes);
  }

  private writeIndex(index: ImageIndex): Promise<void> {
    return this.write('index.json', encodeJson(index));
  }

  async readIndex(): Promise<ImageIndex> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, 'index.json'));
    } catch (err) {
      throw new WeftError(ErrorCode.InvalidBundle, `${this.name}: no index.json`, { cause: err });
    }
    return parseImageIndex(bytes, `${this.name}/index.json`);
  }

  private blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  /** `reference`: a digest, a tag (org.opencontainers.image.ref.name), or '' for the layout's one app. */
  async getManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const index = await this.readIndex();
    const found = reference.startsWith('sha256:')
      ? index.manifests.find((m) => m.digest === reference)
      : reference === ''
        ? index.manifests.find((m) => m.artifactType === MediaType.App) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined)
        : index.manifests.find((m) => m.annotations?.[Annotation.RefName] === reference);
    if (!found) throw new WeftError(ErrorCode.BundleNotFound, `${this.name}: no manifest ${reference === '' ? 'of a Weft app' : `'${reference}'`} in index.json`);
    if (found.size > MAX_MANIFEST_BYTES) throw new WeftError(ErrorCode.InvalidBundle, `${this.name}: manifest ${found.digest} is too large`);
    const bytes = await readFile(this.blobPath(found.digest)).catch((err: unknown) => {
      throw new WeftError(ErrorCode.InvalidBundle, `${this.name}: blob ${found.digest} named in index.json is missing`, { cause: err });
    });
    if (bytes.byteLength !== found.size || sha256(bytes) !== found.digest) {
      throw new WeftError(ErrorCode.DigestMismatch, `${this.name}: manifest ${found.digest} does not match its digest`);
    }
    return { descriptor: found, bytes };
  }

  async openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    if (!(await this.hasBlob(descriptor))) throw new WeftError(ErrorCode.InvalidBundle, `${this.name}: blob ${descriptor.digest} is missing`);
    return createReadStream(this.blobPath(descriptor.digest), { highWaterMark: 1 << 20 });
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    try {
      return (await stat(this.blobPath(descriptor.digest))).isFile();
    } catch {
      return false;
    }
  }

  async putBlob(descriptor: Descriptor, source: BlobSource, progress?: Progress): Promise<void> {
    if (await this.hasBlob(descriptor)) return;
    const transfer = tracked(descriptor, source, progress);
    await writeBlobAtomic(descriptor, transfer.source, this.blobPath(descriptor.digest), join(this.dir, 'blobs'), this.name);
    transfer.done();
  }

  async putManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    await this.putBlob(descriptor, () => [bytes]);
    const index = await this.readIndex();
    if (index.manifests.some((m) => m.digest === descriptor.digest)) return;
    const { artifactType } = parseImageManifest(bytes, this.name);
    index.manifests.push({ mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size, ...(artifactType ? { artifactType } : {}) });
    await this.writeIndex(index);
  }

  async tag(descriptor: Descriptor, _bytes: Buffer, tag: string): Promise<void> {
    const index = await this.readIndex();
    const manifests = index.manifests
      .filter((m) => m.annotations?.[Annotation.RefName] !== tag)
      .map((m) => (m.digest === descriptor.digest ? { ...m, annotations: { ...m.annotations, [Annotation.RefName]: tag } } : m));
    await this.writeIndex({ ...index, manifests });
  }

  async referrers(subject: Descriptor): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const entry of (await this.readIndex()).manifests) {
      if (entry.digest === subject.digest || entry.mediaType !== MediaType.ImageManifest) continue;
      const { bytes } = await this.getManifest(entry.digest);
      const m = parseImageManifest(bytes, this.name);
      if (m.subject?.digest !== subject.digest) continue;
      out.push({ mediaType: entry.mediaType, digest: entry.digest, size: entry.size, artifactType: m.artifactType ?? m.config.mediaType, ...(m.annotations ? { annotations: m.annotations } : {}) });
    }
    return out;
  }
}
