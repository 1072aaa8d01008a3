// `weft ls` and `weft rm`: what the node's store holds (tags, digests, sizes, signatures) and
// untagging; the blobs a removed tag leaves unreachable go with `weft gc`.

import { Annotation, MediaType, parseImageManifest, storeOf, storeTagOf } from '../bundle/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { commandConfig } from './bundle-commands.js';
import { formatBytes } from '../config/index.js';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export interface StoreEntry {
  tag: string;
  digest: string;
  /** Manifest, config and layers together, bytes. */
  size: number;
  /** App name and version from the manifest's annotations, when it has them. */
  title: string | undefined;
  signatures: number;
  /** Why the entry could not be read (a damaged or half-removed copy), if it could not. */
  problem?: string;
}

export async function lsCommand(args: string[]): Promise<void> {
  const { config, flags } = commandConfig(args, { json: { type: 'boolean' } });
  const target = storeOf(config);
  const entries: StoreEntry[] = [];
  for (const { name, digest } of await target.store.tags()) {
    try {
      const { descriptor, bytes } = await target.getManifest(digest);
      const m = parseImageManifest(bytes, name);
      const size = descriptor.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
      const title = m.annotations?.[Annotation.Title];
      const version = m.annotations?.[Annotation.Version];
      const signatures = (await target.referrers(descriptor)).filter((r) => r.artifactType === MediaType.Signature).length;
      entries.push({ tag: name, digest, size, title: title === undefined ? undefined : `${title}${version ? ` ${version}` : ''}`, signatures });
    } catch (err) {
      entries.push({ tag: name, digest, size: 0, title: undefined, signatures: 0, problem: (err as Error).message });
    }
  }
  if (flags.json === 'true') {
    out(JSON.stringify(entries, null, 2));
    return;
  }
  if (entries.length === 0) {
    out(`the store at ${target.store.root} holds no tags (weft pack or weft pull put bundles there)`);
    return;
  }
  const rows = entries.map((e) => [e.tag, e.digest.slice(0, 19), e.problem ? '-' : formatBytes(e.size), e.problem ? 'damaged' : String(e.signatures), e.problem ?? e.title ?? '']);
  const header = ['TAG', 'DIGEST', 'SIZE', 'SIGNED', 'APP'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) out(r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export async function rmCommand(args: string[]): Promise<void> {
  const { config, positionals } = commandConfig(args);
  if (positionals.length === 0) throw new WeftError(ErrorCode.BadRequest, 'usage: weft rm REF [REF ...]');
  const store = storeOf(config).store;
  const missing: string[] = [];
  for (const ref of positionals) {
    const tag = storeTagOf(ref);
    const digest = await store.resolveTag(tag);
    if (digest === undefined || !(await store.removeTag(tag))) {
      missing.push(tag);
      continue;
    }
    out(`untagged ${tag} (${digest})`);
  }
  if (missing.length > 0) throw new WeftError(ErrorCode.BundleNotFound, `no tag ${missing.map((t) => `'${t}'`).join(', ')} in the store at ${store.root} (see \`weft ls\`)`);
  out('run `weft gc` to free the blobs no tag reaches any more');
}
