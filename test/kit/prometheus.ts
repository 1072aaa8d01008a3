// Starts a real Prometheus (Debian's /usr/bin/prometheus) on loopback for end-to-end tests,
// scraping the given targets at a short interval into a temporary storage folder, and queries
// it through its HTTP API.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.js';

/** Debian's package puts it on PATH (/usr/bin/prometheus); .ci/run installs it. */
export const PROMETHEUS = 'prometheus';

export interface PrometheusProcess {
  url: string;
  /** Runs an instant query; resolves with its result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls `expr` until `accept` holds for its result (Prometheus scrapes on its own schedule). */
  waitFor(expr: string, accept: (v: Array<{ metric: Record<string, string>; value: [number, string] }>) => boolean, timeoutMs?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}


/** `targets` are host:port pairs serving /metrics. */
export async function startPrometheus(targets: string[]): Promise<PrometheusProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: weft\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let logs = '';
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1h'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  proc.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
  const exited = once(proc, 'exit');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${logs}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s:\n${logs}`);
    await sleep(200);
  }
  const query: PrometheusProcess['query'] = async (expr) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: any[] }; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus query ${expr}: ${body.error}`);
    return body.data.result;
  };
  return {
    url,
    query,
    waitFor: async (expr, accept, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const result = await query(expr);
        if (accept(result)) return result;
        if (Date.now() > until) throw new Error(`prometheus: ${expr} gave ${JSON.stringify(result)} after ${timeoutMs} ms`);
        await sleep(250);
      }
    },
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
