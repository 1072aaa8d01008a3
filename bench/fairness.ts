// One tenant's flood against another tenant's trickle, on one node: the embedded default's
// ppocr-cls over KServe binary, two API keys (tenants `flood` and `light`). Three steps in one
// run, the same node: `light` alone (its unloaded latency); `flood` at C = 16 with `light` at
// C = 1 as separate tenants (fair queueing between them); and the same flood with the light
// caller using the flood's key (one tenant: FIFO, what a node without per-tenant fairness does).
// The figure of merit is the light caller's p99 under the flood against its unloaded p99.
//
//   npm run build && node --import tsx bench/fairness.ts [--seconds 15] [--flood 16] [-- extra weft serve flags]
// Results: bench/FAIRNESS.md.

import http from 'node:http';
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

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, flood: { type: 'string', default: '16' } }, allowPositionals: true });
  const measureMs = Number(values.seconds) * 1000;
  const floodC = Number(values.flood);
  const data = mkdtempSync(join(tmpdir(), 'weft-bench-fairness-'));
  const key = async (tenant: string) => (await weftOk(['apikey', 'create', '--tenant', tenant, '--scope', 'infer:*', '--data-dir', data])).trim().split('\n').at(-1)!;
  const keys = { flood: await key('flood'), light: await key('light') };
  const weft = await startWeft(positionals, { WEFT_DATA_DIR: data });
  const floodAgent = new http.Agent({ keepAlive: true, maxSockets: floodC });
  const lightAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cls = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], bytes: float32Bytes(inputImage().subarray(0, 3 * 48 * 192)) }]);
  const url = new URL('/v2/models/ppocr-cls/infer', weft.url);
  const call = (tenant: keyof typeof keys, agent: http.Agent) => postCall(url, cls.body, { ...cls.headers, Authorization: `Bearer ${keys[tenant]}` }, agent);
  const loop = { warmupMs: 3000, measureMs, serverPid: weft.proc.pid! };
  const rows: Array<{ step: string; light: StepResult; flood?: StepResult }> = [];
  try {
    rows.push({ step: 'light alone', light: await closedLoop(call('light', lightAgent), { ...loop, concurrency: 1 }) });
    for (const [step, lightKey] of [['flood + light, two tenants (fair)', 'light'], ['flood + light, one tenant (FIFO)', 'flood']] as const) {
      const [flood, light] = await Promise.all([
        closedLoop(call('flood', floodAgent), { ...loop, concurrency: floodC }),
        closedLoop(call(lightKey, lightAgent), { ...loop, concurrency: 1 }),
      ]);
      rows.push({ step, light, flood });
    }
  } finally {
    floodAgent.destroy();
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

await main();
