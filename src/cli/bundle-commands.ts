// `weft pack`, `weft inspect`, `weft push`, `weft pull` and `weft gc`: moving bundles between app
// folders, OCI layouts, the node's store and registries. Every command reads the same node
// config (data dir, registry credentials) as `weft serve`.

import { join } from 'node:path';
import {
  Annotation,
  MediaType,
  classifyReference,
  OciLayout,
  connectRegistry,
  copyBundle,
  formatReference,
  openAppFolder,
  openReference,
  packApp,
  parseImageManifest,
  parseRegistryReference,
  storeOf,
  storeTagOf,
  type Descriptor,
  type Target,
} from '../bundle/index.js';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { collectGarbage } from '../store/index.js';
import { parseFlags } from './flags.js';
import { terminalProgress } from './progress.js';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function commandConfig(args: string[], extra: Parameters<typeof parseFlags>[1] = {}): { config: Readonly<NodeConfig>; flags: Record<string, string | string[] | undefined>; positionals: string[] } {
  const { flags, file, positionals } = parseFlags(args, extra);
  return { config: loadConfig({ flags, env: process.env, file }), flags, positionals };
}

function onePositional(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new WeftError(ErrorCode.BadRequest, `usage: ${usage}`);
  return positionals[0]!;
}

export async function packCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, { output: { type: 'string', short: 'o' }, tag: { type: 'string' } });
  const dir = onePositional(positionals, 'weft pack DIR [-o OUT] [--tag T]');
  const tag = flags.tag as string | undefined;
  const progress = terminalProgress();
  if (flags.output !== undefined) {
    const layout = await OciLayout.create(flags.output as string);
    const d = await packApp(dir, layout, { progress, ...(tag === undefined ? {} : { tag }) });
    out(`packed ${dir} into ${layout.dir} as ${d.digest}`);
    return;
  }
  const store = storeOf(config);
  const { manifest } = openAppFolder(dir);
  const name = tag ?? `${manifest.name}:${manifest.version}`;
  const d = await packApp(dir, store, { progress, tag: name });
  out(`packed ${dir} into the store as ${name} (${d.digest})`);
}

/** Which copy of a bundle a command read, for its output. */
export type CopyRead = 'registry' | 'store' | 'layout';

/**
 * Reads a packed bundle's manifest: from where REF points, or from the copy pulled into the store
 * when `local` is set or the registry cannot be reached (a note on stderr says so).
 */
export async function readManifest(
  ref: string,
  config: Readonly<NodeConfig>,
  local = false,
): Promise<{ target: Target; descriptor: Descriptor; bytes: Buffer; copy: CopyRead }> {
  const opened = openReference(ref, config);
  const copy: CopyRead = opened.kind === 'registry' ? 'registry' : opened.kind === 'layout' ? 'layout' : 'store';
  const fromStore = async () => {
    const store = storeOf(config);
    const tag = storeTagOf(ref);
    if ((await store.store.resolveTag(tag)) === undefined) {
      throw new WeftError(ErrorCode.BundleNotFound, `${ref} has not been pulled into the store at ${store.store.root} (tag '${tag}'): run \`weft pull ${ref}\``);
    }
    return { target: store as Target, ...(await store.getManifest(tag)), copy: 'store' as const };
  };
  if (opened.kind === 'registry' && local) return fromStore();
  try {
    return { target: opened.target, ...(await opened.target.getManifest(opened.reference)), copy };
  } catch (err) {
    if (opened.kind !== 'registry' || !(err instanceof WeftError && err.code === ErrorCode.RegistryError)) throw err;
    const stored = await fromStore().catch(() => undefined);
    if (stored === undefined) throw err;
    process.stderr.write(`weft: ${err.message}; reading the copy pulled into the store instead\n`);
    return stored;
  }
}

export async function inspectCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, { json: { type: 'boolean' } });
  const ref = onePositional(positionals, 'weft inspect REF [--json]');
  const { target, descriptor, bytes, copy } = await readManifest(ref, config);
  const manifest = parseImageManifest(bytes, target.name);
  const signatures = (await target.referrers(descriptor)).filter((r) => r.artifactType === MediaType.Signature);
  if (flags.json === 'true') {
    out(JSON.stringify({ digest: descriptor.digest, size: descriptor.size, copy, manifest, signatures }, null, 2));
    return;
  }
  out(`${ref}${copy === 'store' && classifyReference(ref) === 'registry' ? `  (the copy in the store at ${join(config.dataDir, 'store')})` : ''}`);
  out(`  digest        ${descriptor.digest}`);
  out(`  artifactType  ${manifest.artifactType ?? '(none)'}`);
  out(`  app           ${manifest.annotations?.[Annotation.Title] ?? '?'} ${manifest.annotations?.[Annotation.Version] ?? ''}`);
  out(`  config        ${manifest.config.mediaType} ${manifest.config.size} B ${manifest.config.digest}`);
  out(`  layers`);
  for (const l of manifest.layers) {
    const model = l.annotations?.[Annotation.ModelName];
    out(`    ${(l.annotations?.[Annotation.Title] ?? '?').padEnd(32)} ${String(l.size).padStart(12)} B  ${l.mediaType}  ${l.digest}${model ? `  model=${model}` : ''}`);
  }
  out(`  signatures    ${signatures.length === 0 ? 'none' : ''}`);
  for (const s of signatures) {
    out(`    ${s.digest}  key ${s.annotations?.[Annotation.SignatureKey] ?? '?'}  ${s.annotations?.[Annotation.SignatureAlgorithm] ?? ''}`);
  }
}

/** Where `weft push REF` reads from: --from (layout, store tag or registry) or the store tag REF itself. */
function pushSource(from: string | undefined, ref: string, config: Readonly<NodeConfig>): { target: Target; reference: string; mountFrom?: string } {
  if (from === undefined) return { target: storeOf(config), reference: ref };
  const src = openReference(from, config);
  const dst = parseRegistryReference(ref);
  if (src.kind === 'registry') {
    const srcRef = parseRegistryReference(from);
    // A copy within one registry: the flag credentials the push is given are that registry's.
    if (srcRef.registry === dst.registry) {
      const target = connectRegistry(srcRef, config, { commandTarget: true });
      return { target, reference: target.reference, mountFrom: srcRef.repository };
    }
  }
  return src;
}

export async function pushCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, { from: { type: 'string' } });
  const ref = onePositional(positionals, 'weft push REF [--from LAYOUT|STORE-TAG|REGISTRY-REF]');
  const dstRef = parseRegistryReference(ref);
  const src = pushSource(flags.from as string | undefined, ref, config);
  const dst = connectRegistry(dstRef, config, { mountFrom: src.mountFrom, commandTarget: true });
  const tag = dstRef.tag ?? 'latest';
  const d = await copyBundle(src.target, src.reference, dst, { tag, progress: terminalProgress() });
  out(`pushed ${formatReference({ ...dstRef, tag, digest: undefined })}@${d.digest}`);
}

export async function pullCommand(args: string[]): Promise<void> {
  const { config, positionals } = commandConfig(args);
  const ref = onePositional(positionals, 'weft pull REF');
  const src = connectRegistry(ref, config, { commandTarget: true });
  // Blobs already stored are re-hashed, so pulling again repairs a copy damaged on disk.
  const store = storeOf(config, { verifyExisting: true });
  const d = await copyBundle(src, src.reference, store, { tag: formatReference(src.ref), progress: terminalProgress() });
  const signatures = (await store.referrers(d)).filter((r) => r.artifactType === MediaType.Signature).length;
  const repaired = store.repaired === 0 ? '' : `; repaired ${store.repaired} damaged blob${store.repaired === 1 ? '' : 's'}`;
  out(`pulled ${formatReference(src.ref)} into ${join(config.dataDir, 'store')} as ${d.digest} (${signatures} signature${signatures === 1 ? '' : 's'}${repaired})`);
}

export async function gcCommand(args: string[]): Promise<void> {
  const { config } = commandConfig(args);
  const store = storeOf(config).store;
  const r = await collectGarbage(store);
  out(
    `removed ${r.removedBlobs} blob${r.removedBlobs === 1 ? '' : 's'} (${r.removedBytes} bytes); kept ${r.keptBlobs}; ` +
      `removed ${r.removedTemps} stale temp file${r.removedTemps === 1 ? '' : 's'} (${r.removedTempBytes} bytes)`,
  );
}
