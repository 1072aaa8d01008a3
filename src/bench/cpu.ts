// CPU time over a benchmark step, read from /proc (Linux): this load process's, the server's
// (given its pid, when it runs on this machine) and everyone else's, the noise of a shared
// machine. Elsewhere the server and machine figures are left out.

import { readFileSync } from 'node:fs';

// Linux reports /proc/<pid>/stat times in USER_HZ ticks, which the kernel ABI fixes at 100 per
// second on the architectures Node runs on.
const TICKS_PER_SECOND = 100;

function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU time every process on the machine has spent so far (all cores, idle and iowait excluded). */
export function machineBusyMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface CpuSnapshot {
  at: number;
  client: number;
  server: number | undefined;
  machine: number | undefined;
}

export function cpuSnapshot(serverPid: number | undefined): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  return { at: performance.now(), client: (user + system) / 1000, server: serverPid === undefined ? undefined : processCpuMs(serverPid), machine: machineBusyMs() };
}

export interface CpuUsage {
  /** CPU milliseconds per counted request in this load process. */
  clientMsPerReq: number;
  /** CPU milliseconds per counted request in the server process (all its threads). */
  serverMsPerReq?: number;
  /** Cores kept busy by processes other than this one and the server over the step. */
  otherCores?: number;
}

/** What the CPU did between two snapshots, per request counted in that window. */
export function cpuUsage(from: CpuSnapshot, to: CpuSnapshot, requests: number): CpuUsage {
  const n = Math.max(1, requests);
  const client = to.client - from.client;
  const server = to.server === undefined || from.server === undefined ? undefined : to.server - from.server;
  const usage: CpuUsage = { clientMsPerReq: client / n };
  if (server !== undefined) usage.serverMsPerReq = server / n;
  if (to.machine !== undefined && from.machine !== undefined) {
    usage.otherCores = Math.max(0, to.machine - from.machine - client - (server ?? 0)) / Math.max(1, to.at - from.at);
  }
  return usage;
}
