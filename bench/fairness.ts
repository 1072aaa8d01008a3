// One tenant's flood against another tenant's trickle, on one node: the embedded default's
// ppocr-cls over KServe binary, two API keys (tenants `flood` and `light`). Three steps in one
// run, the same node: `light` alone (its unloaded latency); `flood` at C = 16 with `light` at
// C = 1 as separate tenants (fair queueing between them); and the same flood with the light
// caller using the flood's key (one tenant: FIFO, what a node without per-tenant fairness does).
// The figure of merit is the light caller's p99 under the flood against its unloaded p99. The
// flood runs in a process of its own (this file, started again with WEFT_FAIRNESS_FLOOD), as a
// different tenant's client would: in one process the light caller's latencies would also count
// the time its event loop spends on the flood's connections.
//
//   npm run build && node --import tsx bench/fairness.ts [--seconds 15] [--flood 16] [-- extra weft serve flags]
// Results: bench/FAIRNESS.md.

import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { weftOk } from '../test/kit/weft-cli.js';
import { startWeft } from '../test/kit/weft-process.js';
import { describeMachine } from './machine.js';
import { closedLoop, postCall, type StepResult } from './measure.js';
import { inputImage } from './model.js';

/** What the flood's process is told: where, with which key, how hard and how long. */
interface FloodPlan {
  url: string;
  key: string;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
}

const clsRequest = () => binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], bytes: float32Bytes(inputImage().subarray(0, 3 * 48 * 192)) }]);

/** The flood's process: tells its parent when its loop begins, then sends its result. */
async function floodProcess(plan: FloodPlan): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const cls = clsRequest();
  const call = postCall(new URL(plan.url), cls.body, { ...cls.headers, Authorization: `Bearer ${plan.key}` }, agent);
  process.send!({ started: true });
  const result = await closedLoop(call, { concurrency: plan.concurrency, warmupMs: plan.warmupMs, measureMs: plan.measureMs });
  agent.destroy();
  process.send!({ result }, () => process.disconnect());
}

/**
 * Starts the flood in a process of its own; resolves once it runs, with its result to come
 * (wrapped: an async function returning a promise would wait for it).
 */
async function startFlood(plan: FloodPlan): Promise<{ result: Promise<StepResult> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname], { env: { ...process.env, WEFT_FAIRNESS_FLOOD: JSON.stringify(plan) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const result = new Promise<StepResult>((resolve, reject) => {
    child.on('message', (m: { started?: true; result?: StepResult }) => (m.started ? started() : m.result && resolve(m.result)));
    child.on('exit', (code) => reject(new Error(`the flood process exited (${code}) without a result`)));
  });
  await Promise.race([running, result]);
  return { result };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, flood: { type: 'string', default: '16' } }, allowPositionals: true });
  const measureMs = Number(values.seconds) * 1000;
  const floodC = Number(values.flood);
  const data = mkdtempSync(join(tmpdir(), 'weft-bench-fairness-'));
  const key = async (tenant: string) => (await weftOk(['apikey', 'create', '--tenant', tenant, '--scope', 'infer:*', '--data-dir', data])).trim().split('\n').at(-1)!;
  const keys = { flood: await key('flood'), light: await key('light') };
  const weft = await startWeft(positionals, { WEFT_DATA_DIR: data });
  const lightAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cls = clsRequest();
  const url = new URL('/v2/models/ppocr-cls/infer', weft.url);
  const call = (tenant: keyof typeof keys, agent: http.Agent) => postCall(url, cls.body, { ...cls.headers, Authorization: `Bearer ${keys[tenant]}` }, agent);
  const loop = { warmupMs: 3000, measureMs, serverPid: weft.proc.pid! };
  const rows: Array<{ step: string; light: StepResult; flood?: StepResult }> = [];
  try {
    rows.push({ step: 'light alone', light: await closedLoop(call('light', lightAgent), { ...loop, concurrency: 1 }) });
    for (const [step, lightKey] of [['flood + light, two tenants (fair)', 'light'], ['flood + light, one tenant (FIFO)', 'flood']] as const) {
      // The flood warms up a second longer, so the light caller's whole window is under it.
      const flooding = await startFlood({ url: url.href, key: keys.flood, concurrency: floodC, warmupMs: loop.warmupMs + 1000, measureMs });
      const light = await closedLoop(call(lightKey, lightAgent), { ...loop, concurrency: 1 });
      const flood = await flooding.result;
      rows.push({ step, light, flood });
    }
  } finally {
    lightAgent.destroy();
    await weft.stop();
    rmSync(data, { recursive: true, force: true });
  }
  const machine = describeMachine();
  const base = rows[0]!.light.p99Ms ?? NaN;
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
  console.log(`ppocr-cls [1,3,48,192] KServe binary; flood C = ${floodC}, light C = 1; ${values.seconds} s per step after 3 s warm-up; weft serve ${positionals.join(' ') || '(defaults)'}\n`);
  console.log('| step | light req/s | light p50 ms | light p99 ms | light p99 ÷ alone | flood req/s | flood p99 ms | errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const f = r.flood;
    console.log(`| ${r.step} | ${r.light.reqPerSec.toFixed(1)} | ${r.light.p50Ms?.toFixed(1) ?? '–'} | ${r.light.p99Ms?.toFixed(1) ?? '–'} | ${((r.light.p99Ms ?? NaN) / base).toFixed(2)}× | ${f?.reqPerSec.toFixed(1) ?? '–'} | ${f?.p99Ms?.toFixed(1) ?? '–'} | ${r.light.errors + (f?.errors ?? 0)} |`);
  }
}

if (process.env.WEFT_FAIRNESS_FLOOD) await floodProcess(JSON.parse(process.env.WEFT_FAIRNESS_FLOOD) as FloodPlan);
else await main();
