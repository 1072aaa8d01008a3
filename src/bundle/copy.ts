// Copies a bundle between Targets — registry, store, layout — blob by blob, streamed, skipping
// blobs the destination has. Order makes a crash harmless: blobs first, then the manifest, then
// its signatures, and the tag last, so a tag only ever names a complete bundle.

import { ErrorCode, WeftError } from '../errors.js';
import { parseImageManifest, type Descriptor } from './oci.js';
import { quietProgress, type Progress, type Target } from './target.js';

export interface CopyOptions {
  /** Tag to point at the manifest in the destination once everything is there. */
  tag?: string;
  progress?: Progress;
}

async function copyBlob(src: Target, dst: Target, blob: Descriptor, progress: Progress): Promise<void> {
  if (await dst.hasBlob(blob)) return;
  await dst.putBlob(blob, () => src.openBlob(blob), progress);
}

async function copyManifest(src: Target, dst: Target, descriptor: Descriptor, bytes: Buffer, progress: Progress): Promise<void> {
  const manifest = parseImageManifest(bytes, src.name);
  for (const blob of [manifest.config, ...manifest.layers]) await copyBlob(src, dst, blob, progress);
  await dst.putManifest(descriptor, bytes);
}

/** Copies the manifest `reference` names in `src`, its blobs and its referrers (signatures) to `dst`. */
export async function copyBundle(src: Target, reference: string, dst: Target, options: CopyOptions = {}): Promise<Descriptor> {
  const progress = options.progress ?? quietProgress;
  const { descriptor, bytes } = await src.getManifest(reference);
  await copyManifest(src, dst, descriptor, bytes, progress);
  for (const referrer of await src.referrers(descriptor)) {
    let r: { descriptor: Descriptor; bytes: Buffer };
    try {
      r = await src.getManifest(referrer.digest);
    } catch (err) {
      // The tag-schema fallback index can name a referrer deleted since: it signs nothing.
      if (err instanceof WeftError && err.code === ErrorCode.BundleNotFound) continue;
      throw err;
    }
    await copyManifest(src, dst, r.descriptor, r.bytes, progress);
  }
  if (options.tag !== undefined) await dst.tag(descriptor, bytes, options.tag);
  return descriptor;
}
