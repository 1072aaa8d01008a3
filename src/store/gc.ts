// `weft gc`: removes every blob no tag reaches (a tag reaches its manifest, the blobs that
// manifest names, and the signatures that refer to it), and temp files left by killed packs and
// pulls. Run it when no pull is underway: a pull's blobs are untagged until its last step.

import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { removeStaleTemps } from './temp.js';

export interface GcResult {
  removedBlobs: number;
  removedBytes: number;
  keptBlobs: number;
  /** Temp files no live process was writing. */
  removedTemps: number;
  removedTempBytes: number;
}

/** Digests a stored manifest or index names: its config, layers, child manifests and subject-free blobs. */
function children(bytes: Buffer): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof doc !== 'object' || doc === null) return [];
  const d = doc as { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: Array<{ digest?: unknown }> };
  const out = [d.config?.digest, ...(d.layers ?? []).map((l) => l.digest), ...(d.manifests ?? []).map((m) => m.digest)];
  return out.filter((x): x is string => typeof x === 'string');
}

export async function collectGarbage(store: BlobStore, now = Date.now()): Promise<GcResult> {
  const live = new Set<string>();
  const queue = (await store.tags()).map((t) => t.digest);
  while (queue.length > 0) {
    const digest = queue.pop()!;
    if (live.has(digest) || !(await store.has(digest))) continue;
    live.add(digest);
    const info = await stat(store.blobPath(digest));
    // Only small blobs can be manifests; model layers are never parsed.
    if (info.size <= 4 * 1024 * 1024) {
      queue.push(...children(await readFile(store.blobPath(digest))));
    }
    queue.push(...(await store.referrers(digest)));
  }
  const result = { removedBlobs: 0, removedBytes: 0, keptBlobs: 0 };
  for (const hex of await readdir(store.blobsDir)) {
    if (live.has(`sha256:${hex}`)) {
      result.keptBlobs++;
      continue;
    }
    const path = join(store.blobsDir, hex);
    result.removedBytes += (await stat(path)).size;
    result.removedBlobs++;
    await rm(path, { force: true });
  }
  for (const hex of await readdir(store.referrersDir)) {
    if (!live.has(`sha256:${hex}`)) await rm(join(store.referrersDir, hex), { recursive: true, force: true });
  }
  const temps = await removeStaleTemps(store.tmpDir, { dedicated: true, now });
  return { ...result, removedTemps: temps.removedFiles, removedTempBytes: temps.removedBytes };
}
