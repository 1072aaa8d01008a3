// Entry point of `npm run bench`: builds Weft, measures every variant at every concurrency (one
// fresh load process per step, servers as child processes), prints the table and rewrites
// bench/RESULTS.md with it.

import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './machine.js';
import { machineBusyMs } from '../src/bench/index.js';
import type { StepResult } from './measure.js';
import { consoleTable, fixed, resultsMarkdown, type Row } from './report.js';
import { startPlainServer, startWeftServer, type RunningServer } from './servers.js';
import { CONCURRENCIES, VARIANTS, type Variant } from './variants.js';

const WARMUP_MS = 2_000;
const MEASURE_MS = 8_000;
/** Below this many busy cores the machine counts as idle, so a step may start. */
const QUIET_CORES = 0.15;
/** Give up waiting for an idle machine after this long and measure anyway (the step records the noise). */
const QUIET_WAIT_MS = 45_000;
/** A step whose window saw more CPU than this taken by other processes is run again. */
const NOISY_CORES = 0.25;
const MAX_ATTEMPTS = 3;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

/** Builds dist/ so that the Weft measured is the source in this checkout. */
function build(): void {
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed with ${result.status}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until other processes (the idle server included) keep less than QUIET_CORES busy. */
async function waitForQuiet(): Promise<void> {
  const deadline = performance.now() + QUIET_WAIT_MS;
  while (performance.now() < deadline) {
    // Linux only (/proc/stat), as every server figure of this benchmark is.
    const before = machineBusyMs()!;
    await sleep(1_000);
    if (machineBusyMs()! - before < QUIET_CORES * 1_000) return;
  }
  console.warn(`the machine stayed busy for ${QUIET_WAIT_MS / 1000} s; measuring anyway`);
}

/** Runs bench/load.ts in its own process and returns the result line it prints. */
async function runLoad(variant: Variant, concurrency: number, server: RunningServer | undefined): Promise<StepResult> {
  const args = ['--import', 'tsx', LOAD, '--target', variant.target, '--concurrency', String(concurrency)];
  args.push('--warmup-ms', String(WARMUP_MS), '--measure-ms', String(MEASURE_MS));
  if (server) args.push('--url', server.url, '--server-pid', String(server.pid));
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) throw new Error(`load generator for ${variant.id} C=${concurrency} exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as StepResult;
}

/** Runs a step until other processes leave its window alone, keeping the least disturbed attempt. */
async function measureStep(variant: Variant, concurrency: number, server: RunningServer | undefined): Promise<Row> {
  let best: StepResult | undefined;
  let attempts = 0;
  while (attempts < MAX_ATTEMPTS && (best === undefined || best.otherCores > NOISY_CORES)) {
    attempts++;
    await waitForQuiet();
    const result = await runLoad(variant, concurrency, server);
    console.log(`${variant.id} C=${concurrency}: ${fixed(result.reqPerSec)} req/s, p50 ${fixed(result.p50Ms)} ms, ` +
      `p99 ${fixed(result.p99Ms)} ms, ${result.errors} errors, other cores ${fixed(result.otherCores, 2)}` +
      (result.firstError === undefined ? '' : ` (first error: ${result.firstError})`));
    if (best === undefined || result.otherCores < best.otherCores) best = result;
  }
  return { variant, result: best!, attempts, noisy: best!.otherCores > NOISY_CORES };
}

function startServer(variant: Variant): Promise<RunningServer | undefined> {
  if (variant.server === 'weft') return startWeftServer(variant.flags);
  if (variant.server === 'plain') return startPlainServer();
  return Promise.resolve(undefined);
}

/** A fresh server per variant, so no variant inherits another's warm state or queue. */
async function measureVariant(variant: Variant): Promise<Row[]> {
  const server = await startServer(variant);
  const rows: Row[] = [];
  try {
    for (const concurrency of CONCURRENCIES) rows.push(await measureStep(variant, concurrency, server));
  } finally {
    await server?.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const started = performance.now();
  const date = new Date().toISOString();
  build();
  const rows: Row[] = [];
  for (const variant of VARIANTS) rows.push(...(await measureVariant(variant)));
  console.log(`\n${consoleTable(rows)}`);
  const markdown = resultsMarkdown({
    machine: describeMachine(),
    command: 'npm run bench',
    date,
    durationS: (performance.now() - started) / 1000,
    warmupMs: WARMUP_MS,
    measureMs: MEASURE_MS,
    noisyCores: NOISY_CORES,
    maxAttempts: MAX_ATTEMPTS,
    rows,
  });
  writeFileSync(RESULTS, markdown);
  console.log(`\nwrote ${RESULTS}`);
}

await main();
