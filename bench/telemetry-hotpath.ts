// CPU cost of telemetry per request, in process and free of model time: one request scope's
// whole life (open, operation, batch start and end, model-call timings, end with metrics and
// stats) with tracing off and with tracing on (spans recorded, exported to a sink on loopback).
//
//   node --import tsx bench/telemetry-hotpath.ts [--requests 200000]

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { createLogger, Telemetry } from '../src/telemetry/index.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200000' } } });
const N = Number(values.requests);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const sink = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function run(flags: Record<string, string>): Promise<number> {
  const t = await Telemetry.create(loadConfig({ flags: { energy: 'off', ...flags } }), { version: 'bench', log: createLogger('error') });
  const once = (i: number) => {
    const scope = t.startRequest({ method: 'POST', path: '/v2/models/m/infer', traceparent: undefined, tenant: i % 2 ? 'a' : 'b', authorization: undefined });
    scope.setOperation('infer', 'm');
    scope.modelCallStarted();
    t.batchStarted('m', 'cpu', [{ scope, rows: 1 }], 1)();
    scope.modelCallDone('m', { batchSize: 1, batchRequests: 1, queueMs: 0.1, computeMs: 1 });
    scope.end(200);
  };
  for (let i = 0; i < 20_000; i++) once(i); // warm up the JIT
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    once(i);
    // Let the exporter's timers and sockets run, as they would between requests.
    if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
  }
  const used = process.cpuUsage(start);
  await t.shutdown();
  return (used.user + used.system) / N;
}

console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}; ${N} requests per variant\n`);
console.log('| telemetry | CPU µs per request |');
console.log('| --- | --- |');
for (const [name, flags] of [
  ['tracing off (default)', {}],
  ['tracing on, head ratio 0.1', { 'traces-exporter': 'otlp', 'otlp-endpoint': sink, 'traces-sampler-arg': '0.1' }],
  ['tracing on, head ratio 1', { 'traces-exporter': 'otlp', 'otlp-endpoint': sink, 'traces-sampler-arg': '1' }],
] as const) {
  console.log(`| ${name} | ${(await run(flags)).toFixed(2)} |`);
}
server.close();
