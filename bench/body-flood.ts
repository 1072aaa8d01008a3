// What floods of large request bodies leave in a node: `weft serve` with the embedded default,
// one client sending ordinary ppocr-rec KServe JSON requests the whole time, and N bodies of MB
// megabytes each posted at once, of four kinds in turn — KServe JSON (numbers, far more than the
// input takes: 400 DATA_SIZE_MISMATCH after decoding), KServe binary (a declared tensor size that
// does not match: 400), raw bytes to the OCR app (not an image: 422), and gRPC ModelInfer calls on
// one connection (raw input contents of that size: INVALID_ARGUMENT). The node's RSS is polled
// every 50 ms; after each flood and a settle (the ordinary client running meanwhile, so the node's
// garbage collector runs as it would in service) the ordinary client is checked for errors. A baseline step first: the same ordinary load alone, so "after" has something to be
// held against.
//
//   npm run build && node --import tsx bench/body-flood.ts [--bodies 12] [--mb 60] [--settle 8] [--cli dist/cli/main.js] [-- <extra weft serve flags>]
// Results: bench/MEMORY.md ("Floods of large bodies").

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePort } from '../test/kit/net.js';
import { startWeft } from '../test/kit/weft-process.js';
import { describeMachine } from './machine.js';

const { values: args, positionals: serveFlags } = parseArgs({ allowPositionals: true, options: { bodies: { type: 'string', default: '12' }, mb: { type: 'string', default: '60' }, settle: { type: 'string', default: '8' }, cli: { type: 'string' } } });
const BODIES = Number(args.bodies);
const BYTES = Number(args.mb) * 1e6;
const SETTLE_MS = Number(args.settle) * 1000;

const rssMiB = (pid: number) => Math.round(Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);

interface Answer {
  status: number | string;
  ms: number;
  code?: string;
}

/** Sockets whose late write errors are ignored (keep-alive sockets carry many requests). */
const quieted = new WeakSet<object>();

function post(base: string, path: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.length < 4096 ? d : ''));
      res.on('end', () => resolve({ status: res.statusCode!, ms: Date.now() - started, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? 'error', ms: Date.now() - started }));
    // A body refused while it is still being sent (--max-body-memory) has its connection closed
    // under the rest of it: the answer has come by then, the write's EPIPE is not news.
    req.on('socket', (socket) => {
      if (!quieted.has(socket)) socket.on('error', () => undefined);
      quieted.add(socket);
    });
    req.end(body);
  });
}

const REC_ELEMENTS = 1 * 3 * 48 * 320;
const json = (elements: number) => Buffer.from(`{"inputs":[{"name":"x","shape":[1,3,48,320],"datatype":"FP32","data":[${'0.5,'.repeat(elements - 1)}0.5]}]}`);

/** The flood bodies: each far over what its input takes, each refused only after it is read. */
function floodBody(kind: string): { path: string; body: Buffer; headers: Record<string, string> } {
  if (kind === 'kserve-json') return { path: '/v2/models/ppocr-rec/infer', body: json(Math.floor(BYTES / 4)), headers: { 'content-type': 'application/json' } };
  if (kind === 'kserve-binary') {
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3, 48, 320], datatype: 'FP32', parameters: { binary_data_size: BYTES } }] }));
    return { path: '/v2/models/ppocr-rec/infer', body: Buffer.concat([head, Buffer.alloc(BYTES)]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) } };
  }
  return { path: '/apps/ocr', body: Buffer.alloc(BYTES, 7), headers: { 'content-type': 'image/png' } };
}

/** N ModelInfer calls at once on one gRPC connection, each with BYTES of raw input. */
async function grpcFlood(port: number): Promise<Answer[]> {
  const definition = loadSync(new URL('../proto/grpc_predict_v2.proto', import.meta.url).pathname, { keepCase: true, defaults: true });
  type InferenceClient = grpc.Client & { ModelInfer(req: unknown, cb: (err: grpc.ServiceError | null) => void): void };
  const Service = (grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: new (address: string, credentials: grpc.ChannelCredentials, options: object) => InferenceClient } }).inference.GRPCInferenceService;
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const raw = Buffer.alloc(BYTES);
  const call = () =>
    new Promise<Answer>((resolve) => {
      const started = Date.now();
      client.ModelInfer({ model_name: 'ppocr-rec', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 320] }], raw_input_contents: [raw] }, (err) =>
        resolve({ status: err === null ? 'OK' : grpc.status[err.code], ms: Date.now() - started, code: /^([A-Z_]+)/.exec(err?.details ?? '')?.[1] }),
      );
    });
  const answers = await Promise.all(Array.from({ length: BODIES }, call));
  client.close();
  return answers;
}

const grpcPort = await freePort();
const node = await startWeft([...serveFlags, '--grpc-port', String(grpcPort)], {}, args.cli === undefined ? {} : { cli: args.cli });
const pid = node.proc.pid!;
const ordinaryBody = json(REC_ELEMENTS);
let ordinary: Answer[] = [];
let stopOrdinary = false;
const ordinaryLoop = (async () => {
  while (!stopOrdinary) ordinary.push(await post(node.url, '/v2/models/ppocr-rec/infer', ordinaryBody, { 'content-type': 'application/json' }));
})();
const takeOrdinary = () => {
  const taken = ordinary;
  ordinary = [];
  const ms = taken.map((a) => a.ms).sort((a, b) => a - b);
  return { requests: taken.length, errors: taken.filter((a) => a.status !== 200).length, p50: ms[ms.length >> 1] ?? null, max: ms.at(-1) ?? null };
};

function floodHttp(kind: string): Promise<Answer[]> {
  const { path, body, headers } = floodBody(kind);
  return Promise.all(Array.from({ length: BODIES }, () => post(node.url, path, body, headers)));
}

const rows: Array<Record<string, unknown>> = [];
const idle = rssMiB(pid);
// Baseline: the ordinary load alone, with the OCR app called the same number of times with a
// small body (it starts its workers, as the flood will).
await sleep(20_000);
for (let i = 0; i < BODIES; i++) await post(node.url, '/apps/ocr', Buffer.alloc(1000, 7), { 'content-type': 'image/png' });
await sleep(SETTLE_MS);
rows.push({ step: 'ordinary load alone (20 s)', rssBefore: idle, rssPeak: null, rssAfter: rssMiB(pid), flood: '', ...takeOrdinary() });

for (const kind of ['kserve-json', 'kserve-binary', 'app', 'grpc']) {
  const before = rssMiB(pid);
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  const started = Date.now();
  const answers = kind === 'grpc' ? await grpcFlood(grpcPort) : await floodHttp(kind);
  const floodMs = Date.now() - started;
  await sleep(SETTLE_MS);
  clearInterval(poll);
  const statuses: Record<string, number> = {};
  for (const a of answers) statuses[`${a.status} ${a.code ?? ''}`.trim()] = (statuses[`${a.status} ${a.code ?? ''}`.trim()] ?? 0) + 1;
  rows.push({ step: `${BODIES} × ${args.mb} MB ${kind} at once`, rssBefore: before, rssPeak: peak, rssAfter: rssMiB(pid), flood: `${JSON.stringify(statuses)} in ${floodMs} ms`, ...takeOrdinary() });
}
stopOrdinary = true;
await ordinaryLoop;
await node.stop();

console.log(JSON.stringify({ machine: describeMachine(), bodies: BODIES, mb: Number(args.mb), settleS: SETTLE_MS / 1000, cli: args.cli ?? 'dist/cli/main.js', serveFlags }));
console.log(`\n| step | RSS before MiB | peak MiB | RSS ${SETTLE_MS / 1000} s after MiB | flood answers | ordinary requests | ordinary errors | ordinary p50 ms | ordinary max ms |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.step} | ${r.rssBefore} | ${r.rssPeak ?? '–'} | ${r.rssAfter} | ${r.flood || '–'} | ${r.requests} | ${r.errors} | ${r.p50} | ${r.max} |`);
