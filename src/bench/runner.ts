// Runs one benchmark step: closed loop (a fixed number of clients, each sending its next request
// when the last one returns) or open loop (Poisson arrivals at a fixed rate, latency measured
// from each request's intended start so a slow server cannot hide queueing: no coordinated
// omission). Warm-up is a step of its own whose result is discarded (see bench.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { cpuSnapshot, cpuUsage, type CpuSnapshot, type CpuUsage } from './cpu.js';
import { summarize, type LatencySummary } from './stats.js';
import type { Outcome, Workload } from './workloads.js';

export interface StepPlan {
  mode: 'closed' | 'open';
  /** Closed loop: clients sending at once. */
  concurrency?: number;
  /** Open loop: mean arrivals per second. */
  rate?: number;
  /** Measured window in seconds; ignored when `requests` is set. */
  durationS: number;
  /** Measure this many requests instead of a time window. */
  requests?: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Open loop: most requests in flight; arrivals beyond are counted as dropped. */
  maxInflight: number;
  /** A server process on this machine whose CPU time over the window is reported. */
  serverPid?: number;
}

export interface StepResult {
  label: string;
  mode: 'closed' | 'open';
  concurrency?: number;
  rate?: number;
  /** Seconds the measurement covered. */
  windowS: number;
  ok: number;
  /** Successful requests per second. */
  throughput: number;
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  /** Open loop: arrivals not sent because `maxInflight` requests were already out. */
  dropped: number;
  meanBatchSize?: number;
  ttftMs?: LatencySummary;
  interTokenMs?: LatencySummary;
  /** Output tokens per second over the window, all streams together. */
  tokensPerSecond?: number;
  /** The first failure's message, for a person to see why (a response check's, an HTTP status). */
  firstError?: string;
  /** CPU time per request over the window: this process, the server (with `serverPid`), the rest of the machine. */
  cpu?: CpuUsage;
}

/** Collects what the measured requests reported. */
class Recorder {
  readonly latencies: number[] = [];
  readonly errors: Record<string, number> = {};
  readonly batchSizes: number[] = [];
  readonly ttfts: number[] = [];
  readonly gaps: number[] = [];
  tokens = 0;
  ok = 0;
  firstError: string | undefined;

  record(outcome: Outcome, latencyMs: number): void {
    if (!outcome.ok) {
      const kind = outcome.error ?? 'unknown';
      this.errors[kind] = (this.errors[kind] ?? 0) + 1;
      this.firstError ??= outcome.detail ?? kind;
      return;
    }
    this.ok++;
    this.latencies.push(latencyMs);
    if (outcome.batchSize !== undefined) this.batchSizes.push(outcome.batchSize);
    if (outcome.ttftMs !== undefined) this.ttfts.push(outcome.ttftMs);
    if (outcome.interTokenMs) this.gaps.push(...outcome.interTokenMs);
    this.tokens += outcome.outputTokens ?? 0;
  }

  result(label: string, plan: StepPlan, windowS: number, dropped: number, cpu: { from: CpuSnapshot; to: CpuSnapshot }): StepResult {
    const result: StepResult = {
      label,
      mode: plan.mode,
      windowS,
      ok: this.ok,
      throughput: this.ok / windowS,
      latencyMs: summarize(this.latencies),
      errors: this.errors,
      dropped,
    };
    if (plan.mode === 'closed') result.concurrency = plan.concurrency;
    else result.rate = plan.rate;
    if (this.batchSizes.length > 0) result.meanBatchSize = this.batchSizes.reduce((a, b) => a + b, 0) / this.batchSizes.length;
    if (this.ttfts.length > 0) {
      result.ttftMs = summarize(this.ttfts);
      result.interTokenMs = summarize(this.gaps);
      result.tokensPerSecond = this.tokens / windowS;
    }
    if (this.firstError !== undefined) result.firstError = this.firstError;
    result.cpu = cpuUsage(cpu.from, cpu.to, this.ok);
    return result;
  }
}

/** Sends one request of the load; a throw is a failed request, not a failed step. */
export type Send = (signal: AbortSignal) => Promise<Outcome>;

async function sendOne(send: Send, timeoutMs: number): Promise<Outcome> {
  try {
    return await send(AbortSignal.timeout(timeoutMs));
  } catch (err) {
    const name = (err as Error).name;
    return { ok: false, error: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection', detail: (err as Error).message };
  }
}

export interface Progress {
  /** Fraction of the step done, 0..1. */
  (fraction: number): void;
}

async function closedLoop(send: Send, plan: StepPlan, label: string, progress: Progress): Promise<StepResult> {
  const recorder = new Recorder();
  const cpuFrom = cpuSnapshot(plan.serverPid);
  const start = performance.now();
  const measureUntil = plan.requests === undefined ? start + plan.durationS * 1000 : Infinity;
  let measuredDone = 0;
  let lastCompletion = start;
  const done = () => (plan.requests !== undefined ? measuredDone >= plan.requests : performance.now() >= measureUntil);
  const timer = setInterval(() => {
    const now = performance.now();
    progress(plan.requests !== undefined ? measuredDone / plan.requests : (now - start) / (measureUntil - start));
  }, 200);
  // Read when the window closes: requests still finishing after it are not counted, so neither is their CPU.
  let cpuTo: CpuSnapshot | undefined;
  const closeWindow = plan.requests === undefined ? setTimeout(() => (cpuTo = cpuSnapshot(plan.serverPid)), plan.durationS * 1000) : undefined;
  const client = async () => {
    while (!done()) {
      const sent = performance.now();
      const outcome = await sendOne(send, plan.timeoutMs);
      const finished = performance.now();
      if (finished <= measureUntil && !done()) {
        recorder.record(outcome, finished - sent);
        measuredDone++;
        lastCompletion = finished;
        if (plan.requests !== undefined && measuredDone >= plan.requests) cpuTo = cpuSnapshot(plan.serverPid);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency ?? 1 }, client));
  clearInterval(timer);
  clearTimeout(closeWindow);
  progress(1);
  const windowS = plan.requests !== undefined ? (lastCompletion - start) / 1000 : plan.durationS;
  return recorder.result(label, plan, Math.max(windowS, 1e-3), 0, { from: cpuFrom, to: cpuTo ?? cpuSnapshot(plan.serverPid) });
}

/** Exponential inter-arrival gap for a Poisson process of `rate` per second, in ms. */
function poissonGapMs(rate: number, random: () => number): number {
  return (-Math.log(1 - random()) / rate) * 1000;
}

async function openLoop(send: Send, plan: StepPlan, label: string, progress: Progress, random: () => number): Promise<StepResult> {
  const rate = plan.rate!;
  const recorder = new Recorder();
  const cpuFrom = cpuSnapshot(plan.serverPid);
  const start = performance.now();
  const total = plan.requests;
  const arriveUntil = total === undefined ? start + plan.durationS * 1000 : Infinity;
  let inflight = 0;
  let dropped = 0;
  let arrivals = 0;
  const pending: Promise<void>[] = [];
  let intended = start;
  while (total === undefined ? intended < arriveUntil : arrivals < total) {
    intended += poissonGapMs(rate, random);
    if (intended >= arriveUntil) break;
    const wait = intended - performance.now();
    if (wait > 1) await sleep(wait);
    arrivals++;
    progress(total !== undefined ? arrivals / total : (intended - start) / (arriveUntil - start));
    if (inflight >= plan.maxInflight) {
      dropped++;
      continue;
    }
    inflight++;
    const arrival = intended;
    pending.push(
      sendOne(send, plan.timeoutMs).then((outcome) => {
        inflight--;
        recorder.record(outcome, performance.now() - arrival);
      }),
    );
  }
  await Promise.all(pending);
  const cpuTo = cpuSnapshot(plan.serverPid);
  progress(1);
  const windowS = (Math.min(intended, arriveUntil) - start) / 1000;
  return recorder.result(label, plan, Math.max(windowS, 1e-3), dropped, { from: cpuFrom, to: cpuTo });
}

/** A seeded generator so open-loop arrival patterns repeat run to run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** One step of any load: `send` makes one request (a workload's over a pool, or a benchmark's own call). */
export function runLoad(send: Send, plan: StepPlan, progress: Progress = () => {}, seed = 1): Promise<StepResult> {
  const label = plan.mode === 'closed' ? `concurrency ${plan.concurrency}` : `rate ${plan.rate}/s`;
  return plan.mode === 'closed' ? closedLoop(send, plan, label, progress) : openLoop(send, plan, label, progress, seededRandom(seed));
}

/** One step of a protocol workload over `pool`. */
export function runStep(pool: Pool, workload: Workload, plan: StepPlan, progress: Progress = () => {}, seed = 1): Promise<StepResult> {
  return runLoad((signal) => workload.send(pool, signal), plan, progress, seed);
}
