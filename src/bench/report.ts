// A benchmark run as people read it: a terminal table per step, or JSON for tools.

import type { StepResult } from './runner.js';
import type { ServerBreakdown } from './server-metrics.js';

export interface BenchReport {
  target: string;
  workload: string;
  /** The command line that produced the report. */
  command: string;
  startedAt: string;
  steps: Array<StepResult & { server?: ServerBreakdown }>;
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
}

function errorsText(step: StepResult): string {
  const parts = Object.entries(step.errors).map(([k, v]) => `${k}:${v}`);
  if (step.dropped > 0) parts.push(`dropped:${step.dropped}`);
  return parts.join(' ') || '0';
}

export function formatTable(report: BenchReport): string {
  const llm = report.steps.some((s) => s.ttftMs !== undefined);
  const server = report.steps.some((s) => s.server !== undefined && Object.keys(s.server).length > 0);
  const header = ['step', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'];
  if (llm) header.push('ttft p50', 'itl p50', 'tok/s');
  header.push('batch');
  if (server) header.push('queue ms', 'server ms', 'J/req');
  const rows = report.steps.map((s) => {
    const row = [s.label, fmt(s.throughput), fmt(s.latencyMs.p50, 2), fmt(s.latencyMs.p90, 2), fmt(s.latencyMs.p99, 2), fmt(s.latencyMs.max, 2), errorsText(s)];
    if (llm) row.push(fmt(s.ttftMs?.p50, 2), fmt(s.interTokenMs?.p50, 2), fmt(s.tokensPerSecond));
    row.push(fmt(s.server?.batchSize ?? s.meanBatchSize, 2));
    if (server) {
      const energy = s.server?.joulesPerRequest === undefined ? '-' : `${s.server.joulesPerRequest.toPrecision(3)} (${s.server.energySource})`;
      row.push(fmt(s.server?.queueMs, 2), fmt(s.server?.serverMs, 2), energy);
    }
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [`${report.workload}`, `target ${report.target}`, '', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''].join('\n');
}
