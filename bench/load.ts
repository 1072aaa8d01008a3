// Load generator, run by bench/run.ts as its own process so that it never shares an event loop
// with a server: drives one target (a server over HTTP, or session.run in this very process for
// the in-process limit) in a closed loop and prints one JSON line of results on stdout.
//
//   node --import tsx bench/load.ts --target weft-binary --url http://127.0.0.1:8080 --concurrency 4

import http from 'node:http';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { closedLoop, type Call } from './measure.js';
import { INPUT_NAME, INPUT_SHAPE, MODEL_NAME, MODEL_PATH, checkOutput, inputImage, jsonInferBody } from './model.js';
import { Targets, type Target } from './variants.js';

interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A POST over `agent`'s keep-alive connections, resolving with the whole response body. */
function post(agent: http.Agent, url: URL, body: Uint8Array, headers: Record<string, string>): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.byteLength) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function expectOk(reply: HttpReply): void {
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.subarray(0, 300).toString()}`);
}

interface JsonOutput {
  shape: number[];
  data: number[];
}

/** Parses a JSON infer response in full, as a client reading the scores must. */
function checkJsonReply(reply: HttpReply): number | undefined {
  expectOk(reply);
  const parsed = JSON.parse(reply.body.toString('utf8')) as { outputs: JsonOutput[]; parameters?: { batch_size?: number } };
  const output = parsed.outputs[0]!;
  checkOutput(output.shape, output.data);
  return parsed.parameters?.batch_size;
}

function checkBinaryReply(reply: HttpReply): number | undefined {
  expectOk(reply);
  const headerLength = Number(reply.headers['inference-header-content-length']);
  const header = JSON.parse(reply.body.subarray(0, headerLength).toString('utf8')) as {
    outputs: Array<{ shape: number[]; parameters: { binary_data_size: number } }>;
    parameters?: { batch_size?: number };
  };
  const output = header.outputs[0]!;
  const size = output.parameters.binary_data_size;
  if (reply.body.length !== headerLength + size) throw new Error(`body is ${reply.body.length} bytes, header says ${headerLength} + ${size}`);
  // Copied because a Float32Array view needs a 4-byte aligned offset, which the header length breaks.
  const values = new Float32Array(new Uint8Array(reply.body.subarray(headerLength)).buffer);
  checkOutput(output.shape, values);
  return header.parameters?.batch_size;
}

function httpCall(target: Exclude<Target, 'in-process'>, base: string, agent: http.Agent): Call {
  const image = inputImage();
  if (target === 'weft-binary') {
    const url = new URL(`/v2/models/${MODEL_NAME}/infer`, base);
    const { body, headers } = binaryInferRequest([{ name: INPUT_NAME, datatype: 'FP32', shape: INPUT_SHAPE, bytes: float32Bytes(image) }]);
    return async () => checkBinaryReply(await post(agent, url, body, headers));
  }
  const url = new URL(target === 'weft-json' ? `/v2/models/${MODEL_NAME}/infer` : '/infer', base);
  const body = Buffer.from(jsonInferBody(image));
  return async () => checkJsonReply(await post(agent, url, body, { 'Content-Type': 'application/json' }));
}

async function inProcessCall(): Promise<Call> {
  const session = await ort.InferenceSession.create(MODEL_PATH);
  const feeds = { [INPUT_NAME]: new ort.Tensor('float32', inputImage(), INPUT_SHAPE) };
  return async () => {
    const results = await session.run(feeds);
    const output = Object.values(results)[0]!;
    checkOutput(output.dims, output.data as Float32Array);
    return undefined;
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      url: { type: 'string' },
      concurrency: { type: 'string' },
      'warmup-ms': { type: 'string', default: '2000' },
      'measure-ms': { type: 'string', default: '8000' },
      'server-pid': { type: 'string' },
    },
  });
  const target = values.target as Target;
  if (!Targets.includes(target)) throw new Error(`--target must be one of ${Targets.join(', ')}`);
  if (target !== 'in-process' && values.url === undefined) throw new Error(`--url is required for ${target}`);
  const concurrency = Number(values.concurrency ?? 1);
  // One keep-alive connection per worker, as a pool of C clients would hold.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const call = target === 'in-process' ? await inProcessCall() : httpCall(target, values.url!, agent);
  const result = await closedLoop(call, {
    concurrency,
    warmupMs: Number(values['warmup-ms']),
    measureMs: Number(values['measure-ms']),
    serverPid: values['server-pid'] === undefined ? undefined : Number(values['server-pid']),
  });
  agent.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
