// Telemetry overhead on the serving path: throughput of `weft serve` (the built CLI) with
// metrics only, with the default telemetry (metrics and energy, tracing off) and with tracing on
// (OTLP/protobuf to a sink on loopback, head ratio 0.1 and 1, tail rules on), alternating runs to
// spread a shared machine's noise over all variants. Prints a Markdown table.
//
//   npm run build && node --import tsx bench/telemetry-overhead.ts [--rounds 3] [--seconds 8] [--concurrency 8]

import { spawn } from 'node:child_process';
import http, { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { percentile } from '../src/bench/index.js';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { closedLoop, postCall } from './measure.js';
import { CLS_MODEL_PATH } from './model.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '8' } },
});
const ROUNDS = Number(values.rounds);
const MEASURE_MS = Number(values.seconds) * 1000;
const WARMUP_MS = 2000;
const CONCURRENCY = Number(values.concurrency);

async function startSink(): Promise<{ url: string; spans: () => number; close(): void }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans: () => bytes, close: () => server.close() };
}

async function startNode(env: Record<string, string>): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model', `cls=${CLS_MODEL_PATH}`, '--load', 'eager'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (c: Buffer) => {
      logs += c.toString();
      const m = /weft node listening url=(\S+)/.exec(logs);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`weft exited ${code}: ${logs}`)));
  });
  return { url, pid: proc.pid!, stop: () => new Promise((resolve) => (proc.once('exit', () => resolve()), proc.kill('SIGTERM'))) };
}


/** Requests per second in the window, and the server's CPU milliseconds per request (weft bench's load generator, through closedLoop). */
async function load(url: string, pid: number): Promise<{ rate: number; cpuPerReq: number }> {
  const input = new Float32Array(3 * 48 * 192).fill(0.25);
  const req = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], bytes: float32Bytes(input) }]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const r = await closedLoop(postCall(new URL('/v2/models/cls/infer', url), req.body, req.headers, agent), { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, serverPid: pid });
    if (r.errors > 0) throw new Error(`${r.errors} failed requests: ${r.firstError}`);
    return { rate: r.reqPerSec, cpuPerReq: r.serverCpuMsPerReq! };
  } finally {
    agent.destroy();
  }
}

const sink = await startSink();
const BASE = 'tracing off, energy off';
const variants: Record<string, Record<string, string>> = {
  [BASE]: { WEFT_ENERGY: 'off' },
  'tracing off (default: metrics, energy)': {},
  'tracing on, head ratio 0.1': { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER_ARG: '0.1' },
  'tracing on, head ratio 1': { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER_ARG: '1' },
};
const results: Record<string, Array<{ rate: number; cpuPerReq: number }>> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, env] of Object.entries(variants)) {
    const node = await startNode(env);
    results[name]!.push(await load(node.url, node.pid));
    await node.stop();
  }
}
sink.close();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
// The median by nearest rank: the one percentile function, weft bench's and telemetry's.
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const base = results[BASE]!;
const baseCpu = median(base.map((r) => r.cpuPerReq));
const baseRate = mean(base.map((r) => r.rate));
console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, load average ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`);
console.log(`model ppocr-cls [1,3,48,192] binary tensors; concurrency ${CONCURRENCY}; ${ROUNDS} rounds of ${MEASURE_MS / 1000} s per variant\n`);
console.log('| telemetry | req/s per round | mean req/s | vs first row | server CPU ms/request (median) | vs first row |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, rs] of Object.entries(results)) {
  const rate = mean(rs.map((r) => r.rate));
  const cpu = median(rs.map((r) => r.cpuPerReq));
  const pct = (x: number, b: number) => `${x >= b ? '+' : ''}${(((x - b) / b) * 100).toFixed(1)}%`;
  console.log(`| ${name} | ${rs.map((r) => r.rate.toFixed(1)).join(', ')} | ${rate.toFixed(1)} | ${pct(rate, baseRate)} | ${cpu.toFixed(2)} | ${pct(cpu, baseCpu)} |`);
}
console.log(`\nOTLP bytes received by the sink: ${sink.spans()}`);
