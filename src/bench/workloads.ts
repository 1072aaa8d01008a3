// What one benchmark request is, per protocol: a KServe v2 infer (JSON or binary tensors; over
// gRPC in grpc-workload.ts), an OpenAI chat completion (streamed or not), or a plain app request. Each send reports whether it
// succeeded, the kind of failure, and for LLMs the token timings.

import { readFileSync } from 'node:fs';
import type { Pool } from 'undici';
import { ErrorCode, WeftError } from '../errors.js';
import { grpcWorkload } from './grpc-workload.js';
import { BYTES_PER, batchOfOne, parseShape, tensorBytes, type InputSpec } from './tensors.js';
import type { Outcome, ResponseOutput, Workload, WorkloadOptions } from './workload.js';

export { Protocols, type Outcome, type Protocol, type ResponseOutput, type Workload, type WorkloadOptions } from './workload.js';

function bad(message: string, field: string): WeftError {
  return new WeftError(ErrorCode.BadRequest, message, { field });
}

async function failure(statusCode: number, body: { dump(): Promise<void> }): Promise<Outcome> {
  await body.dump();
  return { ok: false, error: `http_${statusCode}` };
}

/**
 * Inputs from model metadata. A dynamic first dimension (the batch) is sent as 1, as Triton's
 * perf_analyzer does; any other dynamic dimension has no size to guess, so the run is refused
 * with the --shape that would fill it in.
 */
async function inputsFromMetadata(pool: Pool, model: string): Promise<InputSpec[]> {
  const res = await pool.request({ path: `/v2/models/${encodeURIComponent(model)}`, method: 'GET' });
  const body = (await res.body.json()) as { inputs?: InputSpec[]; error?: string };
  if (res.statusCode !== 200 || !body.inputs) throw bad(`model metadata for '${model}': ${body.error ?? res.statusCode}`, 'model');
  return batchOfOne(model, body.inputs);
}

function jsonData(spec: InputSpec, bytes: Uint8Array): number[] | boolean[] {
  if (spec.datatype === 'FP32') return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
  if (spec.datatype === 'FP64') return Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8));
  if (spec.datatype === 'BOOL') return Array.from(bytes, (b) => b === 1);
  // Integer types: small non-negative values fit every width.
  return Array.from({ length: bytes.byteLength / BYTES_PER[spec.datatype]! }, (_, i) => bytes[i * BYTES_PER[spec.datatype]!]!);
}

async function kserveWorkload(pool: Pool, o: WorkloadOptions): Promise<Workload> {
  const path = o.path ?? `/v2/models/${encodeURIComponent(o.model)}/infer`;
  let body: Uint8Array | string;
  let shapes = '';
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.input !== undefined) {
    body = readFileSync(o.input);
  } else {
    const specs = o.shapes.length > 0 ? o.shapes.map(parseShape) : await inputsFromMetadata(pool, o.model);
    const data = specs.map((s, i) => tensorBytes(s, i + 1));
    shapes = `, ${specs.map((s) => `${s.name} ${s.datatype}[${s.shape.join(',')}]`).join(' ')}`;
    if (o.binary) {
      const header = Buffer.from(
        JSON.stringify({
          inputs: specs.map((s, i) => ({ ...s, parameters: { binary_data_size: data[i]!.byteLength } })),
          parameters: { binary_data_output: true },
        }),
      );
      body = Buffer.concat([header, ...data]);
      headers['content-type'] = 'application/octet-stream';
      headers['inference-header-content-length'] = String(header.byteLength);
    } else {
      body = JSON.stringify({ inputs: specs.map((s, i) => ({ ...s, data: jsonData(s, data[i]!) })) });
    }
  }
  return {
    description: `KServe v2 ${o.binary ? 'binary' : 'JSON'} infer on '${o.model}' at ${path}${shapes} (${body.length} bytes per request)`,
    async send(p, signal) {
      const res = await p.request({ path, method: 'POST', headers, body, signal });
      if (res.statusCode !== 200) return failure(res.statusCode, res.body);
      const raw = Buffer.from(await res.body.arrayBuffer());
      try {
        // Binary or JSON, whatever was asked (an --input body may ask for either): the header says which.
        const header = res.headers['inference-header-content-length'];
        const { outputs, batchSize } = decodeInferResponse(raw, header === undefined ? raw.byteLength : Number(header));
        o.check?.(outputs);
        return { ok: true, batchSize };
      } catch (err) {
        return { ok: false, error: 'invalid_response', detail: (err as Error).message };
      }
    },
  };
}

interface WireOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
}

/** Parses a KServe v2 response (JSON, or binary tensors after a JSON header) and checks every output's size against its shape. */
export function decodeInferResponse(raw: Buffer, headerLength: number): { outputs: ResponseOutput[]; batchSize: number | undefined } {
  if (!(headerLength >= 0 && headerLength <= raw.byteLength)) throw new Error(`inference-header-content-length ${headerLength} does not fit a ${raw.byteLength}-byte body`);
  const parsed = JSON.parse(raw.subarray(0, headerLength).toString('utf8')) as { outputs?: WireOutput[]; parameters?: { batch_size?: number } };
  if (!Array.isArray(parsed.outputs)) throw new Error('the response has no outputs array');
  let offset = headerLength;
  const outputs = parsed.outputs.map((out): ResponseOutput => {
    const elements = out.shape.reduce((a, b) => a * b, 1);
    const binarySize = out.parameters?.binary_data_size;
    let data: ArrayLike<number>;
    if (binarySize !== undefined) {
      const width = BYTES_PER[out.datatype];
      if (width !== undefined && binarySize !== elements * width) throw new Error(`output '${out.name}' [${out.shape.join(',')}] ${out.datatype} has ${binarySize} bytes, expected ${elements * width}`);
      const bytes = new Uint8Array(raw.subarray(offset, offset + binarySize));
      if (bytes.byteLength !== binarySize) throw new Error(`output '${out.name}': the body ends ${binarySize - bytes.byteLength} bytes early`);
      offset += binarySize;
      // Copied above: a Float32Array view needs a 4-byte aligned offset, which the header breaks.
      data = out.datatype === 'FP32' ? new Float32Array(bytes.buffer) : bytes;
    } else {
      if (!Array.isArray(out.data) || out.data.length !== elements) throw new Error(`output '${out.name}' [${out.shape.join(',')}] has ${Array.isArray(out.data) ? out.data.length : 'no'} elements, expected ${elements}`);
      data = out.data;
    }
    return { name: out.name, datatype: out.datatype, shape: out.shape, data };
  });
  if (offset !== raw.byteLength) throw new Error(`the body has ${raw.byteLength - offset} bytes beyond its outputs`);
  return { outputs, batchSize: parsed.parameters?.batch_size };
}

/** Content deltas and usage from one SSE stream of chat completion chunks. */
async function readChatStream(body: AsyncIterable<Buffer>, started: number): Promise<Outcome> {
  const decoder = new TextDecoder();
  let buffered = '';
  const stamps: number[] = [];
  let usageTokens: number | undefined;
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.replace(/^data: ?/m, '').trim();
      if (data === '' || data === '[DONE]') continue;
      const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens?: number } };
      if (parsed.choices?.[0]?.delta?.content) stamps.push(performance.now());
      if (parsed.usage?.completion_tokens !== undefined) usageTokens = parsed.usage.completion_tokens;
    }
  }
  if (stamps.length === 0) return { ok: false, error: 'invalid_response' };
  return {
    ok: true,
    ttftMs: stamps[0]! - started,
    interTokenMs: stamps.slice(1).map((t, i) => t - stamps[i]!),
    outputTokens: usageTokens ?? stamps.length,
  };
}

function openaiWorkload(o: WorkloadOptions): Workload {
  let request: Record<string, unknown>;
  if (o.input !== undefined && o.input.endsWith('.json')) {
    request = JSON.parse(readFileSync(o.input, 'utf8')) as Record<string, unknown>;
  } else {
    const prompt = o.input !== undefined ? readFileSync(o.input, 'utf8') : 'Write a short story about a lighthouse keeper.';
    request = { messages: [{ role: 'user', content: prompt }] };
  }
  request = { max_tokens: o.maxTokens, ...request, model: o.model, stream: o.stream };
  if (o.stream) request.stream_options = { include_usage: true };
  const body = JSON.stringify(request);
  return {
    description: `OpenAI chat completions on '${o.model}'${o.stream ? ', streamed' : ''}, max_tokens ${String(request.max_tokens)}`,
    async send(pool, signal) {
      const started = performance.now();
      const res = await pool.request({ path: o.path ?? '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
      if (res.statusCode !== 200) return failure(res.statusCode, res.body);
      if (o.stream) return readChatStream(res.body, started);
      const parsed = (await res.body.json()) as { usage?: { completion_tokens?: number }; choices?: unknown[] };
      if (!Array.isArray(parsed.choices)) return { ok: false, error: 'invalid_response' };
      return { ok: true, outputTokens: parsed.usage?.completion_tokens };
    },
  };
}

function appWorkload(o: WorkloadOptions): Workload {
  const body = o.input !== undefined ? readFileSync(o.input) : Buffer.alloc(0);
  const path = o.path ?? `/apps/${encodeURIComponent(o.model)}`;
  return {
    description: `app '${o.model}' (POST ${path}, ${body.byteLength} bytes per request)`,
    async send(pool, signal) {
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body, signal });
      if (res.statusCode >= 300) return failure(res.statusCode, res.body);
      await res.body.dump();
      return { ok: true };
    },
  };
}

export async function createWorkload(pool: Pool, options: WorkloadOptions): Promise<Workload> {
  switch (options.protocol) {
    case 'kserve-v2':
      return kserveWorkload(pool, options);
    case 'kserve-grpc':
      if (options.grpcAddress === undefined) throw bad('kserve-grpc needs the gRPC address (--grpc host:port)', 'grpc');
      return grpcWorkload(options.grpcAddress, options);
    case 'openai':
      return openaiWorkload(options);
    case 'app':
      return appWorkload(options);
  }
}
