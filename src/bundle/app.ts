// An app as a node runs it: its validated manifest, an identity digest, and the local path of
// each file it names. Opened from an app folder here; the OCI layout, store and registry
// sources produce the same shape once their blobs are verified.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { digestFile } from '../store/index.js';
import { parseManifest, type Manifest } from './manifest.js';

export interface AppBundle {
  readonly manifest: Manifest;
  /** sha256 digest identifying this app's content (the OCI manifest digest for a bundle). */
  readonly digest: string;
  /** Where the app came from, for messages. */
  readonly source: string;
  /** Local path of a file the manifest names (a model or the component), verified before use. */
  filePath(relativePath: string): string;
  /**
   * sha256 digest of a file the manifest names: its layer digest in a bundle, hashed for a folder.
   * Two apps that bring the same model file share one loaded copy by this digest.
   */
  fileDigest(relativePath: string): Promise<string>;
}

/** Reads and checks a weft.json file; errors name the file. */
export function readManifestFile(path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // V8's message quotes the start of the text: never echo a file's content.
    const why = err instanceof SyntaxError ? 'is not valid JSON' : (err as Error).message;
    throw new WeftError(ErrorCode.InvalidManifest, `${path}: ${why}`, { cause: err });
  }
  return parseManifest(raw, path);
}

/** Files a manifest refers to, in a stable order. */
export function manifestFiles(manifest: Manifest): string[] {
  const files = manifest.models.flatMap((m) => (m.file === undefined ? [] : [m.file]));
  if (manifest.component) files.push(manifest.component.file);
  return files;
}

/**
 * Where a file the manifest names really is: it must be a regular file that resolves (symlinks
 * followed) inside the folder, so an app cannot bring, or echo in an error, a file from elsewhere.
 */
function resolveAppFile(realRoot: string, file: string, manifestPath: string): string {
  let real: string;
  try {
    real = realpathSync(join(realRoot, file));
  } catch {
    throw new WeftError(ErrorCode.InvalidManifest, `${manifestPath}: names '${file}', which is not a file in the app folder`);
  }
  const inside = relative(realRoot, real);
  if (inside === '' || inside === '..' || inside.startsWith('../') || isAbsolute(inside)) {
    throw new WeftError(ErrorCode.InvalidManifest, `${manifestPath}: '${file}' resolves outside the app folder (a symlink?); an app brings only files inside its folder`);
  }
  if (!statSync(real).isFile()) throw new WeftError(ErrorCode.InvalidManifest, `${manifestPath}: names '${file}', which is not a file in the app folder`);
  return real;
}

/** Opens an app folder holding weft.json; every file it names must be a file inside the folder. */
export function openAppFolder(dir: string): AppBundle {
  const root = resolve(dir);
  const manifestPath = join(root, 'weft.json');
  if (!existsSync(manifestPath)) throw new WeftError(ErrorCode.InvalidManifest, `${dir}: no weft.json in this folder`);
  const realRoot = realpathSync(root);
  resolveAppFile(realRoot, 'weft.json', manifestPath);
  const manifest = readManifestFile(manifestPath);
  const hash = createHash('sha256').update(readFileSync(manifestPath));
  // Resolved once: the paths the node opens are the ones checked here.
  const files = new Map(manifestFiles(manifest).map((file) => [file, resolveAppFile(realRoot, file, manifestPath)]));
  const filePath = (relativePath: string): string => {
    const path = files.get(relativePath);
    if (path === undefined) throw new WeftError(ErrorCode.InvalidManifest, `${root}: '${relativePath}' is not a file of this app`);
    return path;
  };
  const digests = new Map<string, Promise<string>>();
  return {
    manifest,
    digest: `sha256:${hash.digest('hex')}`,
    source: root,
    filePath,
    fileDigest: (relativePath) => {
      let digest = digests.get(relativePath);
      if (digest === undefined) digests.set(relativePath, (digest = digestFile(filePath(relativePath)).then((d) => d.digest)));
      return digest;
    },
  };
}
