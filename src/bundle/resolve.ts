// One reference syntax for every command and for `weft serve --app`: an app folder (weft.json),
// an OCI layout folder (oci-layout), a registry reference (host[:port]/repo:tag), or a tag in
// the node's store. Serving always goes through the store, so one code path verifies.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { BlobStore } from '../store/index.js';
import { openAppFolder } from './app.js';
import { copyBundle } from './copy.js';
import { OciLayout } from './layout.js';
import { openStoredBundle, type OpenedBundle, type TrustPolicy } from './open.js';
import { connectRegistry, formatReference, looksLikeRegistryReference, parseRegistryReference, refuseCredentialsInReference, type RegistryTarget } from './registry/index.js';
import { StoreTarget, type StoreTargetOptions } from './store-target.js';
import type { Progress, Target } from './target.js';

export const ReferenceKinds = ['folder', 'layout', 'registry', 'store'] as const;
export type ReferenceKind = (typeof ReferenceKinds)[number];

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function classifyReference(ref: string): ReferenceKind {
  if (isDir(ref) && OciLayout.isLayout(ref)) return 'layout';
  if (isDir(ref) && existsSync(join(ref, 'weft.json'))) return 'folder';
  if (isDir(ref)) throw new WeftError(ErrorCode.InvalidReference, `${ref} is a folder with neither weft.json (an app) nor oci-layout (a packed bundle)`);
  refuseCredentialsInReference(ref);
  if (/^\.{0,2}\//.test(ref)) throw new WeftError(ErrorCode.BundleNotFound, `${ref}: no such folder (an app folder or OCI layout was expected)`);
  if (looksLikeRegistryReference(ref)) return 'registry';
  return 'store';
}

export function storeOf(config: Readonly<NodeConfig>, options: StoreTargetOptions = {}): StoreTarget {
  return new StoreTarget(new BlobStore(join(config.dataDir, 'store')), options);
}

/**
 * The tag a packed reference is kept under in the store: a registry reference as `weft pull`
 * tags it (host[:port]/repo:tag), a store tag with `:latest` when it names none.
 */
export function storeTagOf(ref: string): string {
  if (looksLikeRegistryReference(ref)) return formatReference(parseRegistryReference(ref));
  return ref.includes(':') || ref.startsWith('sha256:') ? ref : `${ref}:latest`;
}

/** The Target a packed bundle reference lives in, and the tag or digest to read there. */
export function openReference(ref: string, config: Readonly<NodeConfig>): { target: Target; reference: string; kind: ReferenceKind } {
  const kind = classifyReference(ref);
  switch (kind) {
    case 'folder':
      throw new WeftError(ErrorCode.InvalidReference, `${ref} is an app folder, not a packed bundle: run \`weft pack ${ref}\` first`);
    case 'layout':
      return { target: new OciLayout(ref), reference: '', kind };
    case 'registry': {
      const target: RegistryTarget = connectRegistry(ref, config);
      return { target, reference: target.reference, kind };
    }
    case 'store':
      return { target: storeOf(config), reference: storeTagOf(ref), kind };
  }
}

export interface LoadOptions {
  trust: TrustPolicy;
  progress?: Progress;
  /** Told when a registry cannot be reached and the copy already in the store is served. */
  warn?: (message: string) => void;
}

/**
 * Gets an app ready to serve: an app folder opens in place (only with allowUnsigned — it carries
 * no signature); a layout or registry bundle is copied into the store first; then the stored
 * bundle is verified (digests, signature) and opened.
 */
export async function loadApp(ref: string, config: Readonly<NodeConfig>, options: LoadOptions): Promise<OpenedBundle> {
  const kind = classifyReference(ref);
  if (kind === 'folder') {
    if (!options.trust.allowUnsigned) {
      throw new WeftError(ErrorCode.SignatureInvalid, `refusing app folder ${ref}: a folder carries no signature. Pack and sign it (\`weft pack\`, \`weft sign\`), or start the node with --allow-unsigned`);
    }
    return { ...openAppFolder(ref), signedBy: [] };
  }
  const store = storeOf(config);
  const { target, reference } = openReference(ref, config);
  if (kind === 'store') return openStoredBundle(store, reference, ref, options.trust);
  const tag = kind === 'registry' ? formatReference((target as RegistryTarget).ref) : undefined;
  let digest: string;
  try {
    digest = (await copyBundle(target, reference, store, { ...(tag === undefined ? {} : { tag }), ...(options.progress ? { progress: options.progress } : {}) })).digest;
  } catch (err) {
    // An edge node keeps serving what it pulled before when its registry is out of reach; the
    // stored copy is verified like any other.
    const stored = tag === undefined || !(err instanceof WeftError && err.code === ErrorCode.RegistryError) ? undefined : await store.store.resolveTag(tag);
    if (stored === undefined) throw err;
    options.warn?.(`${(err as Error).message}; serving the copy of ${ref} pulled before (${stored})`);
    digest = stored;
  }
  return openStoredBundle(store, digest, ref, options.trust);
}
