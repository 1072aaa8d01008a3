// Side by side in one run: in-process onnxruntime-node (before and after the Weft rows, as it
// drifts on a shared machine), Weft over KServe binary REST, and Weft
// over gRPC with raw contents, on ppocr-cls (concurrency 4) and ppocr-rec (concurrency 16) with
// the same input bytes. Prints one markdown table (req/s, p50/p99, mean batch, ratio to
// in-process) and the machine it ran on.
//
//   node --import tsx bench/transports.ts [--measure 8] [--warmup 2] [-- <extra weft serve flags>]

import http from 'node:http';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import ort from 'onnxruntime-node';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { freePort } from '../test/kit/net.js';
import { startWeft } from '../test/kit/weft-process.js';
import { PROTO_PATH } from '../src/api/grpc/index.js';
import { describeMachine } from './machine.js';
import { closedLoop, type Call, type StepResult } from './measure.js';
import { CLS_MODEL_PATH, MODEL_PATH, inputImage } from './model.js';

const MODELS = [
  { name: 'ppocr-cls', file: CLS_MODEL_PATH, shape: [1, 3, 48, 192], concurrency: 4 },
  { name: 'ppocr-rec', file: MODEL_PATH, shape: [1, 3, 48, 320], concurrency: 16 },
] as const;

/** The same synthetic image for every variant, cut to the model's width. */
function input(shape: readonly number[]): Float32Array {
  return inputImage().subarray(0, shape.reduce((a, b) => a * b, 1));
}

async function inProcess(file: string, data: Float32Array, shape: readonly number[]): Promise<Call> {
  const session = await ort.InferenceSession.create(file);
  const feeds = { x: new ort.Tensor('float32', data, [...shape]) };
  return async () => {
    const out = Object.values(await session.run(feeds))[0]!;
    if (out.data.length === 0) throw new Error('empty output');
    return undefined;
  };
}

function rest(url: string, model: string, data: Float32Array, shape: readonly number[], agent: http.Agent): Call {
  const req = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [...shape], bytes: float32Bytes(data) }]);
  const target = new URL(`/v2/models/${model}/infer`, url);
  return () =>
    new Promise((resolve, reject) => {
      const r = http.request(target, { method: 'POST', agent, headers: { ...req.headers, 'Content-Length': String(req.body.byteLength) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.subarray(0, 200).toString()}`));
          const header = JSON.parse(body.subarray(0, Number(res.headers['inference-header-content-length'])).toString());
          resolve(header.parameters?.batch_size);
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(req.body);
    });
}

interface InferReply {
  raw_output_contents: Uint8Array[];
  parameters: { batch_size: { int64_param: string } };
}
type InferenceClient = grpc.Client & { ModelInfer(req: unknown, cb: (err: grpc.ServiceError | null, res: InferReply) => void): void };
type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials) => InferenceClient;

function grpcCall(client: InferenceClient, model: string, data: Float32Array, shape: readonly number[]): Call {
  const request = { model_name: model, inputs: [{ name: 'x', datatype: 'FP32', shape }], raw_input_contents: [Buffer.from(float32Bytes(data))] };
  return () =>
    new Promise((resolve, reject) => {
      client.ModelInfer(request, (err, res) => {
        if (err) return reject(err);
        if (res.raw_output_contents.length !== 1) return reject(new Error('no raw output'));
        resolve(Number(res.parameters.batch_size.int64_param));
      });
    });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { measure: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' } }, allowPositionals: true });
  const loop = { warmupMs: Number(values.warmup) * 1000, measureMs: Number(values.measure) * 1000 };
  const grpcPort = await freePort();
  const weft = await startWeft(['--load', 'eager', '--grpc-port', String(grpcPort), ...MODELS.map((m) => ['--model', `${m.name}=${m.file}`]).flat(), ...positionals]);
  const definition = loadSync(PROTO_PATH, { keepCase: true, longs: String, defaults: true });
  const Client = (grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ClientConstructor } }).inference.GRPCInferenceService;
  const rows: string[] = [];
  const chosen: string[] = [];
  try {
    for (const m of MODELS) {
      const data = input(m.shape);
      const results: Array<[string, StepResult]> = [];
      const before = await closedLoop(await inProcess(m.file, data, m.shape), { concurrency: m.concurrency, ...loop });
      results.push(['in-process onnxruntime-node, before', before]);
      const agent = new http.Agent({ keepAlive: true, maxSockets: m.concurrency });
      results.push(['weft REST binary', await closedLoop(rest(weft.url, m.name, data, m.shape, agent), { concurrency: m.concurrency, serverPid: weft.proc.pid!, ...loop })]);
      agent.destroy();
      const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
      results.push(['weft gRPC raw', await closedLoop(grpcCall(client, m.name, data, m.shape), { concurrency: m.concurrency, serverPid: weft.proc.pid!, ...loop })]);
      client.close();
      // Measured again after the Weft rows: the baseline drifts on a shared machine (2x between
      // runs minutes apart has been seen), and the ratio is taken to the mean of both.
      const after = await closedLoop(await inProcess(m.file, data, m.shape), { concurrency: m.concurrency, ...loop });
      results.push(['in-process onnxruntime-node, after', after]);
      const base = { reqPerSec: (before.reqPerSec + after.reqPerSec) / 2 };
      for (const [variant, r] of results) {
        const batch = r.meanBatchSize === undefined ? '–' : r.meanBatchSize.toFixed(2);
        rows.push(`| ${m.name} | ${variant} | ${m.concurrency} | ${r.reqPerSec.toFixed(1)} | ${r.p50Ms?.toFixed(1)} | ${r.p99Ms?.toFixed(1)} | ${r.errors} | ${batch} | ${(r.reqPerSec / base.reqPerSec).toFixed(2)}× |`);
      }
    }
    // What each model's worker chose on its traffic (thread count) and the batcher, if adaptive.
    const index = (await (await fetch(`${weft.url}/v2/repository/index`, { method: 'POST' })).json()) as Array<{ name: string; reason: string }>;
    for (const m of MODELS) chosen.push(`${m.name}: ${index.find((e) => e.name === m.name)?.reason || '(nothing chosen)'}`);
  } finally {
    await weft.stop();
  }
  const machine = describeMachine();
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
  console.log(`weft serve flags: --load eager ${positionals.join(' ') || '(defaults)'}`);
  console.log('| model | variant | C | req/s | p50 ms | p99 ms | errors | mean batch | × in-process (mean of before and after) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  console.log(`\nChosen on the node: ${chosen.join('; ')}`);
}

await main();
