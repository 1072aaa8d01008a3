// One `weft bench` run: builds the workload, runs each step of the sweep (concurrency levels or
// request rates) against the target over keep-alive connections, and adds the server's own
// breakdown when the target is a Weft node.

import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { createWorkload, type WorkloadOptions } from './workloads.js';
import { runStep, type StepPlan } from './runner.js';
import { breakdown, scrape } from './server-metrics.js';
import type { BenchReport } from './report.js';

export interface BenchOptions extends WorkloadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080. */
  target: string;
  /** Closed-loop steps; ignored when `rates` is given. */
  concurrency: number[];
  /** Open-loop steps, requests per second. */
  rates: number[];
  durationS: number;
  requests?: number;
  warmupS: number;
  timeoutMs: number;
  maxInflight: number;
  /** A server process on this machine whose CPU time per request is reported. */
  serverPid?: number;
  /**
   * Seconds to wait before each /metrics scrape, so that a Weft node's energy meters (read every
   * --energy-interval) have attributed the step's energy before it is read.
   */
  settleS: number;
  command: string;
  /** Called with (step label, fraction done) while a step runs. */
  onProgress?: (label: string, fraction: number) => void;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const pool = new Pool(options.target, { connections: Math.max(64, ...options.concurrency), pipelining: 1, keepAliveTimeout: 30_000 });
  // The gRPC port beside a Weft node's HTTP one, unless told: 8081, as KServe and Triton.
  const grpcAddress = options.grpcAddress ?? `${new URL(options.target).hostname}:8081`;
  let workload: Awaited<ReturnType<typeof createWorkload>> | undefined;
  try {
    workload = await createWorkload(pool, { ...options, grpcAddress });
    const plans: StepPlan[] =
      options.rates.length > 0
        ? options.rates.map((rate) => ({ mode: 'open', rate, ...common(options) }))
        : options.concurrency.map((concurrency) => ({ mode: 'closed', concurrency, ...common(options) }));
    const report: BenchReport = { target: options.target, workload: workload.description, command: options.command, startedAt: new Date().toISOString(), steps: [] };
    // Only a target with a /metrics endpoint (a Weft node) is worth waiting on and reading.
    const hasMetrics = (await scrape(pool)) !== undefined;
    const readServer = async () => (hasMetrics ? sleep(options.settleS * 1000).then(() => scrape(pool)) : undefined);
    for (const plan of plans) {
      const label = plan.mode === 'closed' ? `concurrency ${plan.concurrency}` : `rate ${plan.rate}/s`;
      if (options.warmupS > 0) {
        await runStep(pool, workload, { ...plan, durationS: options.warmupS, requests: undefined }, (f) => options.onProgress?.(`${label} (warm-up)`, f));
      }
      const before = await readServer();
      const step = await runStep(pool, workload, plan, (f) => options.onProgress?.(label, f));
      const after = await readServer();
      const server = before && after ? breakdown(before, after) : undefined;
      report.steps.push(server && Object.keys(server).length > 0 ? { ...step, server } : step);
    }
    return report;
  } finally {
    workload?.close?.();
    await pool.close();
  }
}

function common(o: BenchOptions) {
  return { durationS: o.durationS, requests: o.requests, timeoutMs: o.timeoutMs, maxInflight: o.maxInflight, serverPid: o.serverPid };
}
