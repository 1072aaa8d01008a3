// Opens a bundle from the node's store as an AppBundle, refusing it unless every blob matches
// its digest and, unless the node allows unsigned apps, a signature by a trusted key verifies.
// Blobs are re-hashed at every open, so a file changed on disk since the pull is caught.

import type { KeyObject } from 'node:crypto';
import { ErrorCode, WeftError } from '../errors.js';
import { manifestFiles, type AppBundle } from './app.js';
import { parseManifest } from './manifest.js';
import { Annotation, MediaType, parseImageManifest } from './oci.js';
import { checkSignatures } from './sign.js';
import type { StoreTarget } from './store-target.js';

export interface TrustPolicy {
  trustedKeys: readonly KeyObject[];
  allowUnsigned: boolean;
}

export interface OpenedBundle extends AppBundle {
  /** Key ids whose signatures verified; empty when served unsigned. */
  readonly signedBy: readonly string[];
}

/** Refuses an unsigned or untrusted bundle unless the policy allows it; says why. */
async function checkTrust(target: StoreTarget, subject: { mediaType: string; digest: string; size: number }, source: string, policy: TrustPolicy): Promise<string[]> {
  const check = await checkSignatures(target, subject, policy.trustedKeys);
  if (check.verifiedBy.length > 0 || policy.allowUnsigned) return check.verifiedBy;
  const why =
    policy.trustedKeys.length === 0
      ? 'the node trusts no keys (--trusted-keys)'
      : check.rejected.length === 0
        ? 'it carries no signature'
        : check.rejected.join('; ');
  throw new WeftError(ErrorCode.SignatureInvalid, `refusing ${source} (${subject.digest}): no signature by a trusted key verifies: ${why}. Sign it with \`weft sign\`, or start the node with --allow-unsigned`);
}

export async function openStoredBundle(target: StoreTarget, reference: string, source: string, policy: TrustPolicy): Promise<OpenedBundle> {
  const { descriptor, bytes } = await target.getManifest(reference);
  const manifest = parseImageManifest(bytes, source);
  if (manifest.artifactType !== MediaType.App || manifest.config.mediaType !== MediaType.AppConfig) {
    throw new WeftError(ErrorCode.InvalidBundle, `${source}: ${descriptor.digest} is not a Weft app (artifactType '${manifest.artifactType ?? manifest.config.mediaType}')`);
  }
  const signedBy = await checkTrust(target, descriptor, source, policy);
  const store = target.store;
  const config = await store.readVerified(manifest.config, source);
  let raw: unknown;
  try {
    raw = JSON.parse(config.toString('utf8'));
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidBundle, `${source}: its weft.json is not JSON`, { cause: err });
  }
  const app = parseManifest(raw, `${source} weft.json`);
  const files = new Map<string, string>();
  for (const layer of manifest.layers) {
    const title = layer.annotations?.[Annotation.Title];
    if (title === undefined) throw new WeftError(ErrorCode.InvalidBundle, `${source}: layer ${layer.digest} has no ${Annotation.Title} annotation`);
    await store.verify(layer, source);
    files.set(title, store.blobPath(layer.digest));
  }
  for (const file of manifestFiles(app)) {
    if (!files.has(file)) throw new WeftError(ErrorCode.InvalidBundle, `${source}: weft.json names '${file}' but the bundle has no layer for it`);
  }
  return {
    manifest: app,
    digest: descriptor.digest,
    source,
    signedBy,
    filePath: (relativePath) => {
      const path = files.get(relativePath);
      if (path === undefined) throw new WeftError(ErrorCode.InvalidManifest, `${source}: '${relativePath}' is not a file of this app`);
      return path;
    },
  };
}
