// The closed loop behind every step of the benchmarks in bench/: `weft bench`'s load generator
// (src/bench, `runLoad`) driving a benchmark's own call — C workers each issue one call at a
// time, a warm-up step whose results are discarded, then the measured window, in which only calls
// that finish count — with the CPU time the client and (given its pid) the server spent in it.

import http from 'node:http';
import { runLoad, type Outcome, type StepPlan } from '../src/bench/index.js';

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
  /** Failed calls during the warm-up. */
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

/** A call as the load generator sends it: a throw is a failed request, with its message. */
function send(call: Call): () => Promise<Outcome> {
  return async () => {
    try {
      const batchSize = await call();
      return batchSize === undefined ? { ok: true } : { ok: true, batchSize };
    } catch (err) {
      return { ok: false, error: 'call_failed', detail: (err as Error).message };
    }
  };
}

const failures = (errors: Record<string, number>) => Object.values(errors).reduce((a, b) => a + b, 0);

export async function closedLoop(call: Call, options: LoopOptions): Promise<StepResult> {
  // Calls take no deadline of their own: a step waits for each to finish.
  const plan = (durationMs: number, serverPid?: number): StepPlan => ({ mode: 'closed', concurrency: options.concurrency, durationS: durationMs / 1000, timeoutMs: 600_000, maxInflight: Infinity, serverPid });
  const warmup = options.warmupMs > 0 ? await runLoad(send(call), plan(options.warmupMs)) : undefined;
  const step = await runLoad(send(call), plan(options.measureMs, options.serverPid));
  const none = step.ok === 0;
  return {
    concurrency: options.concurrency,
    requests: step.ok,
    reqPerSec: step.throughput,
    p50Ms: none ? null : step.latencyMs.p50,
    p90Ms: none ? null : step.latencyMs.p90,
    p99Ms: none ? null : step.latencyMs.p99,
    errors: failures(step.errors),
    errorsOutsideWindow: warmup === undefined ? 0 : failures(warmup.errors),
    firstError: step.firstError ?? warmup?.firstError,
    meanBatchSize: step.meanBatchSize,
    clientCpuMsPerReq: step.cpu!.clientMsPerReq,
    serverCpuMsPerReq: step.cpu!.serverMsPerReq,
    otherCores: step.cpu!.otherCores ?? 0,
  };
}
