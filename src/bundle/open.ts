// Opens a bundle from the node's store as an AppBundle, refusing it unless every blob matches
// its digest and, unless the node allows unsigned apps, a signature by a trusted key verifies.
// Blobs are re-hashed at every open, so a file changed on disk since the pull is caught.

import type { KeyObject } from 'node:crypto';
import { ErrorCode, WeftError } from '../errors.js';
import { manifestFiles, type AppBundle } from './app.js';
import { modelFormat, parseManifest, type Manifest } from './manifest.js';
import { Annotation, MediaType, parseImageManifest, type Descriptor } from './oci.js';
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

/**
 * A model's layer must say what weft.json says of it (media type of its format, model name), so
 * `weft inspect` and a registry's view of the bundle describe the models the node will serve.
 */
function checkModelLayer(layers: readonly Descriptor[], model: Manifest['models'][number], where: string): void {
  const format = modelFormat(model);
  const mediaType = format === 'gguf' ? MediaType.ModelGguf : MediaType.ModelOnnx;
  const mine = layers.filter((l) => l.annotations?.[Annotation.Title] === model.file);
  const named = (l: Descriptor) => l.annotations?.[Annotation.ModelName];
  if (!mine.some((l) => l.mediaType === mediaType && (named(l) === undefined || named(l) === model.name))) {
    const seen = mine.map((l) => `${l.mediaType}${named(l) === undefined ? '' : ` named '${named(l)}'`}`).join(', ');
    throw new WeftError(ErrorCode.InvalidBundle, `${where}: weft.json makes '${model.file}' the ${format} model '${model.name}', but its layer is ${seen}`);
  }
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
  const layers = new Map<string, Descriptor>();
  for (const layer of manifest.layers) {
    const title = layer.annotations?.[Annotation.Title];
    if (title === undefined) throw new WeftError(ErrorCode.InvalidBundle, `${source}: layer ${layer.digest} has no ${Annotation.Title} annotation`);
    if (layers.has(title) && layers.get(title)!.digest !== layer.digest) throw new WeftError(ErrorCode.InvalidBundle, `${source}: two different layers are titled '${title}'`);
    await store.verify(layer, `${source} (${title})`);
    layers.set(title, layer);
  }
  for (const file of manifestFiles(app)) {
    if (!layers.has(file)) throw new WeftError(ErrorCode.InvalidBundle, `${source}: weft.json names '${file}' but the bundle has no layer for it`);
  }
  app.models.forEach((model, i) => {
    if (model.file !== undefined) checkModelLayer(manifest.layers, model, `${source}: models[${i}] ('${model.name}')`);
  });
  const layerOf = (relativePath: string): Descriptor => {
    const layer = layers.get(relativePath);
    if (layer === undefined) throw new WeftError(ErrorCode.InvalidManifest, `${source}: '${relativePath}' is not a file of this app`);
    return layer;
  };
  return {
    manifest: app,
    digest: descriptor.digest,
    source,
    signedBy,
    filePath: (relativePath) => store.blobPath(layerOf(relativePath).digest),
    fileDigest: async (relativePath) => layerOf(relativePath).digest,
  };
}
