// A CPU quota for one process of a benchmark (Linux cgroups, v2 or v1, needs write access to
// /sys/fs/cgroup, as root has): the process and every thread it starts later get at most `cores`
// of CPU time. bench/routing.ts caps a replica so that it, not the shared machine, bounds the
// throughput — what a replica on a machine of its own is, with a router somewhere else.

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuCap {
  /** Moves a process (all its threads) under the quota. */
  add(pid: number): void;
  /** Moves the processes back and removes the group. */
  remove(): void;
}

const V2 = '/sys/fs/cgroup';
const V1 = '/sys/fs/cgroup/cpu';
/** A short period, so that throttling stalls a request for milliseconds, not a tenth of a second. */
const PERIOD_US = 10_000;

/** The cpu controller's hierarchy: cgroup v1's own, or the v2 tree that offers it. */
function hierarchy(): { root: string; v2: boolean } | undefined {
  if (existsSync(join(V1, 'cpu.cfs_quota_us'))) return { root: V1, v2: false };
  const controllers = join(V2, 'cgroup.controllers');
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) return { root: V2, v2: true };
  return undefined;
}

/** Why a cap cannot be made here, or undefined when it can. */
export function cpuCapUnavailable(): string | undefined {
  const dir = hierarchy()?.root;
  if (dir === undefined) return 'no cgroup cpu controller on this machine';
  try {
    const probe = join(dir, `weft-bench-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (error) {
    return `cannot create a cgroup under ${dir} (${(error as NodeJS.ErrnoException).code}; run as root)`;
  }
  return undefined;
}

export function createCpuCap(name: string, cores: number): CpuCap {
  const { root, v2 } = hierarchy()!;
  const dir = join(root, `weft-bench-${name}-${process.pid}`);
  mkdirSync(dir);
  const quota = String(Math.round(cores * PERIOD_US));
  if (v2) {
    // v2 gives a child the cpu controller only when its parent hands it down.
    if (!readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').includes('cpu')) writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu');
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
  } else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), quota);
  }
  const pids: number[] = [];
  return {
    add(pid) {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      pids.push(pid);
    },
    remove() {
      for (const pid of pids) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), String(pid));
        } catch {
          // the process has exited
        }
      }
      rmdirSync(dir);
    },
  };
}
