// Temp files of atomic writes: named after the process writing them, so that a file left by a
// pack or pull killed with -9 can be told from one being written, and removed by `weft gc` and
// at a node's start.

import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A temp file of a dead writer older than this is stale (it may just have been created by a writer in another pid namespace). */
const DEAD_WRITER_GRACE_MS = 60 * 1000;
/** Whatever its writer, a temp file not written to for this long is stale: every write streams, touching it. */
const IDLE_GRACE_MS = 60 * 60 * 1000;

const TEMP = /\.(\d+)\.[0-9a-f]{8}\.(?:part|tmp)$/;

/** A temp file name in `dir`: `<label>.<pid>.<random>.<ext>`. */
export function tempPath(dir: string, label: string, ext: 'part' | 'tmp'): string {
  return join(dir, `${label}.${process.pid}.${randomBytes(4).toString('hex')}.${ext}`);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface TempSweep {
  removedFiles: number;
  removedBytes: number;
}

/**
 * Removes the temp files in `dir` no live process is writing: those whose writer is gone, and
 * any left untouched for an hour. In a folder that holds other files too (an OCI layout), only
 * names of our temp files are considered; in a `dedicated` temp folder every file is.
 */
export async function removeStaleTemps(dir: string, options: { dedicated?: boolean; now?: number } = {}): Promise<TempSweep> {
  const now = options.now ?? Date.now();
  const result: TempSweep = { removedFiles: 0, removedBytes: 0 };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return result;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m && !options.dedicated) continue;
    const path = join(dir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      continue; // renamed into place or removed meanwhile
    }
    if (!info.isFile()) continue;
    const idle = now - info.mtimeMs;
    const stale = idle > IDLE_GRACE_MS || (m !== null && idle > DEAD_WRITER_GRACE_MS && !alive(Number(m[1])));
    if (!stale) continue;
    await rm(path, { force: true });
    result.removedFiles++;
    result.removedBytes += info.size;
  }
  return result;
}
