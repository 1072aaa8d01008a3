// The closed loop behind every step: C workers each issue one call at a time for a warm-up, then
// a measured window; only calls that finish inside the window count. Also reads the CPU time the
// client and (when given its pid) the server spent in that window.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { percentile } from '../src/telemetry/index.js';

/** One call: resolves with the batch size the server reported (undefined when it reports none). */
export type Call = () => Promise<number | undefined>;

/** A POST of `body` on `agent`'s connections: one call, which fails on any status but 200. */
export function postCall(url: URL, body: Uint8Array, headers: Record<string, string>, agent: http.Agent): Call {
  return () =>
    new Promise((resolve, reject) => {
      const r = http.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.byteLength) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(undefined) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).subarray(0, 200).toString()}`))));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
}

export interface LoopOptions {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** Server process whose CPU time is read at the window's edges. */
  serverPid?: number;
}

export interface StepResult {
  concurrency: number;
  requests: number;
  reqPerSec: number;
  /** Null when no request succeeded in the window. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** Failed calls in the measured window. */
  errors: number;
  /** Failed calls during the warm-up and the drain after the window. */
  errorsOutsideWindow: number;
  firstError: string | undefined;
  /** Mean of the batch sizes servers reported; undefined when none did. */
  meanBatchSize: number | undefined;
  /** CPU milliseconds per counted request, in this process and in the server. */
  clientCpuMsPerReq: number;
  serverCpuMsPerReq: number | undefined;
  /** Cores kept busy by processes other than this one and the server: noise from a shared machine. */
  otherCores: number;
}

// Linux reports /proc/<pid>/stat times in USER_HZ ticks, which the kernel ABI fixes at 100 per
// second on the architectures Node runs on.
const TICKS_PER_SECOND = 100;

function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may hold spaces): utime is the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time every process on the machine has spent so far (all cores, idle and iowait excluded). */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / TICKS_PER_SECOND;
}

function clientCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

interface CpuSnapshot {
  client: number;
  server: number | undefined;
  machine: number;
}

function cpuSnapshot(serverPid: number | undefined): CpuSnapshot {
  return { client: clientCpuMs(), server: serverPid === undefined ? undefined : processCpuMs(serverPid), machine: machineBusyMs() };
}

/** Milliseconds of CPU between two snapshots: ours, the server's, and everyone else's. */
function cpuSpent(from: CpuSnapshot, to: CpuSnapshot): { client: number; server: number | undefined; other: number } {
  const client = to.client - from.client;
  const server = to.server === undefined ? undefined : to.server - from.server!;
  return { client, server, other: Math.max(0, to.machine - from.machine - client - (server ?? 0)) };
}


export async function closedLoop(call: Call, options: LoopOptions): Promise<StepResult> {
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.measureMs;
  const latencies: number[] = [];
  const batchSizes: number[] = [];
  let errors = 0;
  let errorsOutsideWindow = 0;
  let firstError: string | undefined;
  let cpuAtStart: CpuSnapshot | undefined;
  const windowOpened = new Promise<void>((resolve) =>
    setTimeout(() => {
      cpuAtStart = cpuSnapshot(options.serverPid);
      resolve();
    }, options.warmupMs),
  );

  const worker = async () => {
    while (performance.now() < windowEnd) {
      const sent = performance.now();
      let batchSize: number | undefined;
      let failure: string | undefined;
      try {
        batchSize = await call();
      } catch (err) {
        failure = (err as Error).message;
      }
      const done = performance.now();
      const inWindow = done >= windowStart && done <= windowEnd;
      if (failure !== undefined) {
        firstError ??= failure;
        if (inWindow) errors++;
        else errorsOutsideWindow++;
      } else if (inWindow) {
        latencies.push(done - sent);
        if (batchSize !== undefined) batchSizes.push(batchSize);
      }
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  await windowOpened;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEnd - performance.now())));
  const cpu = cpuSpent(cpuAtStart!, cpuSnapshot(options.serverPid));
  await Promise.all(workers);

  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  return {
    concurrency: options.concurrency,
    requests,
    reqPerSec: requests / (options.measureMs / 1000),
    p50Ms: percentile(latencies, 50, null),
    p90Ms: percentile(latencies, 90, null),
    p99Ms: percentile(latencies, 99, null),
    errors,
    errorsOutsideWindow,
    firstError,
    meanBatchSize: batchSizes.length === 0 ? undefined : batchSizes.reduce((a, b) => a + b, 0) / batchSizes.length,
    clientCpuMsPerReq: cpu.client / Math.max(1, requests),
    serverCpuMsPerReq: cpu.server === undefined ? undefined : cpu.server / Math.max(1, requests),
    otherCores: cpu.other / options.measureMs,
  };
}
