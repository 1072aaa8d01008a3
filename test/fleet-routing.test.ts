// Fleet, part 2, end to end: any node answers for the whole fleet. A nats-server and three
// `weft` nodes on loopback: `r` holds only `base`; `b` (same site) and `c` (another site) hold
// `remote`; `b` alone holds the big tensor model, the tiny LLM and the classifier app. Local
// service without a hop, KServe JSON and binary (8 MB in, 8 MB out) and an OpenAI stream through
// a forward, malformed forwarded messages, deadlines that passed, a caller gone mid-stream,
// kill -9 of a replica's node under load, and an edge node on a NATS leaf server answering and
// answered through the leaf link, that link cut and restored.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, createInbox } from '@nats-io/transport-node';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_PATH } from '../src/api/grpc/index.js';
import { NATS_BINARY, startNatsCluster, type NatsCluster } from './kit/nats.js';
import { freePorts, tcpLink } from './kit/net.js';
import { waitFor } from './kit/wait.js';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { writeSumApp } from './kit/apps.js';
import { BIG_ADDENDS, BIG_N, writeTestModels } from './kit/models.js';
import { binaryInferRequest, bytesToFloat32, float32Bytes, readBinaryResponse } from './kit/binary.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { frame, unframe } from '../src/fleet/router/wire.js';
import { z } from 'zod';
import OpenAI from 'openai';

let cluster: NatsCluster | undefined;
let dir: string;
/** r also serves gRPC: a ModelInfer call for a model only b and c hold goes through the router. */
let grpcPort: number;
const nodes = new Map<string, WeftProcess>();

async function startNode(name: string, site: string, models: string[], extra: string[] = []): Promise<void> {
  const proc = await startWeft(
    ['--fleet', cluster!.urls, '--node-name', name, '--site', site, '--heartbeat-interval', '1s', '--llm-threads', '1', ...models.flatMap((m) => ['--model', m]), ...extra],
    { WEFT_DATA_DIR: join(dir, name) },
  );
  nodes.set(name, proc);
}

/** The classifier example app (built by `npm run build`): an app route through a forward. */
const CLASSIFIER = resolve(import.meta.dirname, '../examples/classifier');
const url = (name: string) => nodes.get(name)!.url;
const sumInput = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-fleet-routing-'));
  const sum = join(await writeSumApp(join(dir, 'sum'), 'sum'), 'models', 'sum.onnx');
  await writeTestModels(join(dir, 'models'));
  const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
  cluster = await startNatsCluster(1);
  [grpcPort] = (await freePorts(1)) as [number];
  await Promise.all([
    startNode('r', 'east', [`base=${sum}`], ['--grpc-port', String(grpcPort)]),
    startNode('b', 'east', [`base=${sum}`, `remote=${sum}`, `big=${join(dir, 'models', 'big_a', '1', 'model.onnx')}`, `tiny=${gguf}`, `llm=${gguf}`], ['--app', CLASSIFIER, '--allow-unsigned']),
    startNode('c', 'west', [`remote=${sum}`]),
  ]);
  // r routes once it sees b's and c's records with their models.
  await waitFor('r sees the fleet', async () => {
    const r = await fetchJson(`${url('r')}/admin/fleet/nodes`);
    const records = (r.body.nodes ?? []).map((n: any) => n.record);
    return records.some((n: any) => n.node === 'b' && n.models.includes('tiny')) && records.some((n: any) => n.node === 'c' && n.models.includes('remote')) ? true : undefined;
  }, 60_000);
});

after(async () => {
  await Promise.all([...nodes.values()].map((p) => p.stop('SIGKILL')));
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a model held here is served here, without a hop', async () => {
  const answer = await postJson(`${url('r')}/v2/models/base/infer`, sumInput);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('x-weft-node'), 'r');
  assert.deepEqual(answer.body.outputs[0].data, [4]);
});

test('KServe JSON for a model held elsewhere is forwarded, in-site first, with the trace carried', async () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`${url('r')}/v2/models/remote/infer`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    body: JSON.stringify(sumInput),
  });
  const body = (await res.json()) as any;
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(res.headers.get('x-weft-node'), 'b', 'the same-site replica serves');
  assert.deepEqual(body.outputs[0].data, [4]);
  assert.match(res.headers.get('traceparent') ?? '', new RegExp(`^00-${trace}-`), 'one trace across both nodes');
  // Its metadata and readiness come from a replica too, as a KServe client checks before it infers.
  const metadata = await fetchJson(`${url('r')}/v2/models/remote`);
  assert.equal(metadata.status, 200, JSON.stringify(metadata.body));
  assert.equal(metadata.body.name, 'remote');
  assert.match(metadata.headers.get('x-weft-node') ?? '', /^[bc]$/, 'answered by a replica');
  const ready = await fetch(`${url('r')}/v2/models/remote/ready`);
  assert.equal(ready.status, 200);
  assert.match(ready.headers.get('x-weft-node') ?? '', /^[bc]$/);
  // A model no node holds is the usual 404, from the node asked.
  const missing = await postJson(`${url('r')}/v2/models/nowhere/infer`, sumInput);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'MODEL_NOT_FOUND');
});

test('gRPC ModelInfer, ModelMetadata and ModelReady for a model held elsewhere are forwarded; the serving node\'s errors keep their code and field', async () => {
  const definition = loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const Service = (grpc.loadPackageDefinition(definition) as any).inference.GRPCInferenceService;
  const client = new Service(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as grpc.Client & { ModelInfer: (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => grpc.ClientUnaryCall };
  /** The response, with the node its metadata names (`x-weft-node`, as the HTTP header). */
  const infer = (request: unknown) =>
    new Promise<any>((resolve, reject) => {
      let node: unknown;
      const c = client.ModelInfer(request, (err, res) => (err ? reject(err) : resolve({ ...res, node })));
      c.on('metadata', (md: grpc.Metadata) => (node = md.get('x-weft-node')[0]));
    });
  try {
    const raw = await infer({ model_name: 'remote', id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }], raw_input_contents: [Buffer.from(new Float32Array([1]).buffer)] });
    assert.equal(raw.model_name, 'remote');
    assert.equal(raw.id, 'r1');
    // Which replica depends on what the router saw (b's first answer included loading the model).
    assert.ok(raw.node === 'b' || raw.node === 'c', `a replica's node served it, and the metadata says so: ${raw.node}`);
    const bytes = new Uint8Array(raw.raw_output_contents[0]);
    assert.deepEqual([...new Float32Array(bytes.buffer, bytes.byteOffset, 1)], [4]);
    const typed = await infer({ model_name: 'remote', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [2] } }] });
    assert.deepEqual(typed.outputs[0].contents.fp32_contents, [5]);
    const wrong = await infer({ model_name: 'remote', inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [2] } }] }).catch((err: grpc.ServiceError) => err);
    assert.equal(wrong.code, grpc.status.INVALID_ARGUMENT, wrong.details);
    assert.equal(wrong.metadata.get('weft-code')[0], 'UNKNOWN_INPUT');
    // Held here: served here as before; held nowhere: NOT_FOUND from the node asked.
    const local = await infer({ model_name: 'base', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }] });
    assert.deepEqual(local.outputs[0].contents.fp32_contents, [4]);
    assert.equal(local.node, 'r');
    const nowhere = await infer({ model_name: 'nowhere', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }] }).catch((err: grpc.ServiceError) => err);
    assert.equal(nowhere.code, grpc.status.NOT_FOUND);
    // Its metadata and readiness come from a replica, as a Triton client asks before it infers.
    const unary = (method: string, request: unknown) =>
      new Promise<any>((resolve, reject) => (client as any)[method](request, (err: grpc.ServiceError | null, res: any) => (err ? reject(err) : resolve(res))));
    const metadata = await unary('ModelMetadata', { name: 'remote' });
    assert.equal(metadata.name, 'remote');
    assert.deepEqual(metadata.inputs.map((i: { name: string }) => i.name), ['x']);
    assert.equal((await unary('ModelReady', { name: 'remote' })).ready, true);
    const unknown = await unary('ModelMetadata', { name: 'nowhere' }).catch((err: grpc.ServiceError) => err);
    assert.equal(unknown.code, grpc.status.NOT_FOUND);
  } finally {
    client.close();
  }
});

test('KServe binary: an 8 MB tensor in and an 8 MB tensor out travel through a forward in chunks', async () => {
  const x = new Float32Array(BIG_N);
  for (let i = 0; i < BIG_N; i++) x[i] = i % 1000;
  const { body, headers } = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, BIG_N], bytes: float32Bytes(x) }]);
  assert.ok(body.byteLength > 4 * 1024 * 1024);
  const res = await fetch(`${url('r')}/v2/models/big/infer`, { method: 'POST', headers, body });
  assert.equal(res.status, 200, res.status === 200 ? '' : await res.clone().text());
  assert.equal(res.headers.get('x-weft-node'), 'b');
  const { outputs } = await readBinaryResponse(res);
  const y = bytesToFloat32(outputs[0]!.bytes!);
  assert.equal(y.length, BIG_N);
  for (const i of [0, 1, 999, 1000, 123_457, BIG_N - 1]) assert.equal(y[i], (i % 1000) + BIG_ADDENDS.big_a, `y[${i}]`);
});

test('OpenAI chat completions: whole, and streamed token by token through a forward', async () => {
  const request = { model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, seed: 1 };
  const whole = await postJson(`${url('r')}/v1/chat/completions`, request);
  assert.equal(whole.status, 200, JSON.stringify(whole.body));
  assert.equal(whole.headers.get('x-weft-node'), 'b');
  assert.equal(whole.body.object, 'chat.completion');
  const res = await fetch(`${url('r')}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...request, stream: true }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-weft-node'), 'b');
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  let text = '';
  let reads = 0;
  for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
    reads++;
    text += new TextDecoder().decode(piece);
  }
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  assert.ok(events.length >= 3, `${events.length} events`);
  assert.equal(events.at(-1), 'data: [DONE]');
  assert.ok(reads >= 2, `the stream came in ${reads} piece(s), not as one relayed body`);
  const streamed = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '').join('');
  assert.equal(streamed, whole.body.choices[0].message.content);
});

test('/v1/models on any node lists the language models of the whole fleet, as the official client reads them', async () => {
  const client = new OpenAI({ baseURL: `${url('r')}/v1`, apiKey: 'unused' });
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  // r serves no language model itself: both are b's, called through r.
  assert.deepEqual(ids.sort(), ['llm', 'tiny']);
  assert.equal((await client.models.retrieve('tiny')).id, 'tiny');
  await assert.rejects(client.models.retrieve('nope'), (err: any) => err.status === 404 && /not served here or by any node of the fleet/.test(err.message));
  // The ONNX models of the fleet are no language models.
  assert.ok(!ids.includes('remote'));
});

test('a caller that goes away mid-stream stops the generation on the serving node', async () => {
  const llm = async () => (await fetchJson(`${url('b')}/v1/weft/llm`)).body;
  const before = (await llm()).stats.tiny;
  const controller = new AbortController();
  const res = await fetch(`${url('r')}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3000, stream: true }),
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-weft-node'), 'b');
  assert.equal((await res.body!.getReader().read()).done, false);
  controller.abort();
  const after = await waitFor('b stops the generation', async () => {
    const now = await llm();
    return now.models.find((m: { name: string }) => m.name === 'tiny')?.inflight === 0 && now.stats.tiny.failures > before.failures ? now.stats.tiny : undefined;
  });
  assert.ok(after.completionTokens - before.completionTokens < 3000, `stopped after ${after.completionTokens - before.completionTokens} of 3000 tokens`);
});

test('an app route for an app held elsewhere is forwarded', async () => {
  const res = await fetch(`${url('r')}/apps/classifier`, { method: 'POST', body: 'I love this product' });
  const body = (await res.json()) as { label: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(res.headers.get('x-weft-node'), 'b');
  assert.ok(['positive', 'negative', 'neutral'].includes(body.label), body.label);
  const empty = await fetch(`${url('r')}/apps/classifier`, { method: 'POST', body: '' });
  assert.equal(empty.status, 400, 'the app\'s own refusal comes back as it is');
  assert.equal(empty.headers.get('x-weft-node'), 'b');
});

test('malformed forwarded messages get a clear error; the node keeps serving', async () => {
  const nc = await connect({ servers: cluster!.urls });
  try {
    const reply = z.object({ kind: z.string(), code: z.string().optional(), message: z.string().optional(), field: z.string().optional() });
    const ask = async (data: Uint8Array) => unframe(reply, (await nc.request('weft.v1.east.b.infer', data, { timeout: 10_000 })).data).meta;
    const short = await ask(new Uint8Array([1, 2]));
    assert.equal(short.code, 'FORWARD_INVALID');
    assert.equal(short.field, 'frame');
    const notJson = await ask(frame({}).map((b, i) => (i >= 4 ? 0x7b : b)));
    assert.equal(notJson.code, 'FORWARD_INVALID');
    assert.equal(notJson.field, 'meta');
    const badPath = await ask(frame({ v: 1, kind: 'open', from: 'evil', method: 'POST', path: 'no-slash', headers: [], deadline: Date.now() + 1000, size: 0, reply: 'x' }));
    assert.equal(badPath.code, 'FORWARD_INVALID');
    assert.equal(badPath.field, 'path');
    const lying = await ask(frame({ v: 1, kind: 'open', from: 'evil', method: 'POST', path: '/v2/models/remote/infer', headers: [], deadline: Date.now() + 1000, size: 1, reply: 'x' }, new Uint8Array(10)));
    assert.equal(lying.code, 'FORWARD_INVALID');
    assert.equal(lying.field, 'size');
    // Only what a router forwards: never the admin API, and no dot segments to climb out of a path.
    for (const [method, path] of [['GET', '/admin/fleet/nodes'], ['DELETE', '/admin/fleet/apps/x'], ['POST', '/admin/keys'], ['POST', '/apps/../admin/keys'], ['GET', '/v2/models/remote/infer']]) {
      const refused = await ask(frame({ v: 1, kind: 'open', from: 'evil', method, path, headers: [], deadline: Date.now() + 1000, size: 0, reply: 'x' }));
      assert.deepEqual([refused.code, refused.field], ['FORWARD_INVALID', 'path'], `${method} ${path}`);
    }
  } finally {
    await nc.close();
  }
  const answer = await postJson(`${url('b')}/v2/models/remote/infer`, sumInput);
  assert.equal(answer.status, 200);
});

test('every node announces itself the NATS micro way: $SRV.PING, INFO and STATS, with the forwards it answered and refused', async () => {
  const nc = await connect({ servers: cluster!.urls });
  try {
    /** Every answer to one request within a moment (several services answer one ping). */
    const gather = async (subject: string) => {
      const inbox = createInbox();
      const sub = nc.subscribe(inbox);
      nc.publish(subject, '', { reply: inbox });
      setTimeout(() => sub.unsubscribe(), 1000);
      const answers: any[] = [];
      for await (const m of sub) answers.push(m.json());
      return answers;
    };
    const pings = await gather('$SRV.PING.weft');
    assert.deepEqual(pings.map((p) => p.id).sort(), ['b', 'c', 'r']);
    for (const p of pings) {
      assert.equal(p.type, 'io.nats.micro.v1.ping_response');
      assert.match(p.version, /^\d+\.\d+\.\d+/);
    }
    assert.ok((await gather('$SRV.PING')).some((p) => p.name === 'weft' && p.id === 'c'), 'the bare $SRV.PING finds them too');

    const info = (await nc.request('$SRV.INFO.weft.b', '', { timeout: 5000 })).json<any>();
    assert.equal(info.type, 'io.nats.micro.v1.info_response');
    assert.deepEqual(info.metadata, { node: 'b', site: 'east' });
    assert.deepEqual(info.endpoints.map((e: any) => [e.name, e.subject]), [['infer', 'weft.v1.east.b.infer'], ['cancel', 'weft.v1.east.b.cancel']]);

    const stats = (await nc.request('$SRV.STATS.weft.b', '', { timeout: 5000 })).json<any>();
    assert.equal(stats.type, 'io.nats.micro.v1.stats_response');
    assert.ok(!Number.isNaN(Date.parse(stats.started)));
    const infer = stats.endpoints.find((e: any) => e.name === 'infer');
    // The forwards of the tests before, and the malformed messages refused above.
    assert.ok(infer.num_requests > infer.num_errors, JSON.stringify(infer));
    assert.ok(infer.num_errors >= 9, JSON.stringify(infer));
    assert.match(infer.last_error, /^FORWARD_INVALID: /);
    assert.ok(infer.processing_time > 0 && infer.average_processing_time > 0);
  } finally {
    await nc.close();
  }
});

test('a deadline that passed is answered 504 DEADLINE_EXCEEDED, by the router and by the serving node', async () => {
  const past = String(Date.now() - 1000);
  const routed = await fetch(`${url('r')}/v2/models/remote/infer`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-weft-deadline': past }, body: JSON.stringify(sumInput) });
  assert.equal(routed.status, 504);
  assert.equal(((await routed.json()) as { code: string }).code, 'DEADLINE_EXCEEDED');
  // A forward that reaches its node late: the node does not run it, and says why.
  const nc = await connect({ servers: cluster!.urls });
  try {
    const reply = `_INBOX.deadline.${Date.now()}`;
    const sub = nc.subscribe(reply);
    const body = new TextEncoder().encode(JSON.stringify(sumInput));
    const open = { v: 1, kind: 'open', from: 'test', method: 'POST', path: '/v2/models/remote/infer', headers: [['content-type', 'application/json']], deadline: Date.now() - 1, size: body.length, reply };
    const accepted = unframe(z.object({ kind: z.string() }), (await nc.request('weft.v1.east.b.infer', frame(open, body), { timeout: 10_000 })).data).meta;
    assert.equal(accepted.kind, 'accept');
    let status = 0;
    let text = '';
    for await (const m of sub) {
      const { meta, payload } = unframe(z.object({ kind: z.string(), status: z.number().optional() }), m.data);
      if (meta.kind === 'head') status = meta.status!;
      if (meta.kind === 'data') text += new TextDecoder().decode(payload);
      if (meta.kind === 'end' || meta.kind === 'fail') break;
    }
    assert.equal(status, 504);
    assert.equal(JSON.parse(text).code, 'DEADLINE_EXCEEDED');
  } finally {
    await nc.close();
  }
  const routingShown = await fetchJson(`${url('r')}/admin/fleet/apps`);
  assert.deepEqual(routingShown.body.routing.weights, { queue: 1, latency: 1, site: 8, energy: 1 }, 'weft status shows the weights this node routes by');
});

test('kill -9 of a replica node under load: every request is still answered', async () => {
  let stop = false;
  const outcomes: Array<{ status: number; node: string | null; at: number }> = [];
  const worker = async () => {
    while (!stop) {
      const r = await postJson(`${url('r')}/v2/models/remote/infer`, sumInput).catch((err: Error) => ({ status: 0, headers: new Headers(), body: err.message }));
      outcomes.push({ status: r.status, node: r.headers.get('x-weft-node'), at: Date.now() });
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  let killedAt = Infinity;
  try {
    await waitFor('load reaches b', async () => (outcomes.some((o) => o.node === 'b') ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(outcomes.slice(-3))} of ${outcomes.length}`);
    });
    killedAt = Date.now();
    await nodes.get('b')!.stop('SIGKILL');
    await waitFor('c serves after the kill', async () => (outcomes.some((o) => o.node === 'c' && o.at > killedAt + 3000) ? true : undefined), 60_000);
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  const failed = outcomes.filter((o) => o.status !== 200);
  assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 5))} of ${outcomes.length}`);
  // Each of the four workers had a request in flight or sent one after the kill; all of them were answered.
  const afterKill = outcomes.filter((o) => o.at >= killedAt);
  assert.ok(afterKill.length >= workers.length, `${afterKill.length} of ${outcomes.length} requests answered after the kill`);
});

test('an edge site on a NATS leaf server: answers and is answered through the link; cut off, it serves what it holds; restored, it rejoins', async () => {
  const [hubPort, leafPort, edgePort] = (await freePorts(3)) as [number, number, number];
  // The leaf link runs through a TCP link the test can cut: the edge site losing its uplink.
  const uplink = await tcpLink(leafPort);
  const sum = join(dir, 'sum', 'models', 'sum.onnx');
  // The hub and the leaf each have a JetStream domain; the edge node reaches the hub's buckets by its name.
  await writeFile(join(dir, 'hub.conf'), `server_name: hub\nhost: 127.0.0.1\nport: ${hubPort}\njetstream { store_dir: "${join(dir, 'hub-js')}", domain: hub }\nleafnodes { host: 127.0.0.1, port: ${leafPort} }\n`);
  await writeFile(join(dir, 'edge.conf'), `server_name: edge\nhost: 127.0.0.1\nport: ${edgePort}\njetstream { store_dir: "${join(dir, 'edge-js')}", domain: edge }\nleafnodes { reconnect: 1, remotes: [ { urls: ["nats-leaf://127.0.0.1:${uplink.port}"] } ] }\n`);
  const servers: ChildProcess[] = [];
  const procs: WeftProcess[] = [];
  try {
    for (const conf of ['hub.conf', 'edge.conf']) servers.push(spawn(NATS_BINARY, ['-c', join(dir, conf)], { stdio: 'ignore' }));
    const common = ['--heartbeat-interval', '1s', '--route-weight-site', '0'];
    procs.push(await startWeft(['--fleet', `nats://127.0.0.1:${hubPort}`, '--node-name', 'h', '--site', 'hub', '--model', `remote=${sum}`, ...common], { WEFT_DATA_DIR: join(dir, 'h') }, { startMs: 90_000 }));
    procs.push(
      await startWeft(['--fleet', `nats://127.0.0.1:${edgePort}`, '--nats-domain', 'hub', '--node-name', 'e', '--site', 'edge', '--model', `base=${sum}`, '--model', `edgeonly=${sum}`, ...common], { WEFT_DATA_DIR: join(dir, 'e') }, { startMs: 90_000 }),
    );
    const [h, e] = procs as [WeftProcess, WeftProcess];
    await waitFor('both nodes see each other', async () => {
      const [a, b] = await Promise.all([fetchJson(`${h.url}/admin/fleet/nodes`), fetchJson(`${e.url}/admin/fleet/nodes`)]);
      return a.body.nodes?.length === 2 && b.body.nodes?.length === 2 ? true : undefined;
    }, 60_000);
    const fromEdge = await postJson(`${e.url}/v2/models/remote/infer`, sumInput);
    assert.equal(fromEdge.status, 200, JSON.stringify(fromEdge.body));
    assert.equal(fromEdge.headers.get('x-weft-node'), 'h');
    const fromHub = await postJson(`${h.url}/v2/models/edgeonly/infer`, sumInput);
    assert.equal(fromHub.status, 200, JSON.stringify(fromHub.body));
    assert.equal(fromHub.headers.get('x-weft-node'), 'e');
    const atEdge = await postJson(`${e.url}/v2/models/base/infer`, sumInput);
    assert.equal(atEdge.headers.get('x-weft-node'), 'e', 'served at the edge without a hop');

    uplink.cut();
    // Cut off, the edge serves what it holds; what only the hub holds is refused at once with
    // Retry-After, not left hanging.
    for (let i = 0; i < 3; i++) {
      const local = await postJson(`${e.url}/v2/models/base/infer`, sumInput);
      assert.equal(local.status, 200, JSON.stringify(local.body));
      assert.equal(local.headers.get('x-weft-node'), 'e');
      assert.deepEqual(local.body.outputs[0].data, [4]);
    }
    const started = Date.now();
    const away = await postJson(`${e.url}/v2/models/remote/infer`, sumInput);
    assert.equal(away.status, 503, JSON.stringify(away.body));
    assert.equal(away.body.code, 'FLEET_UNAVAILABLE');
    assert.ok(away.headers.get('retry-after'), 'Retry-After on 503');
    assert.ok(Date.now() - started < 10_000, `refused in ${Date.now() - started} ms`);
    // Once the hub's record has aged out at the edge too, the hub's model is still the fleet's:
    // 503 FLEET_UNAVAILABLE again, not the edge's own 404.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const stillAway = await postJson(`${e.url}/v2/models/remote/infer`, sumInput);
    assert.equal(stillAway.status, 503, JSON.stringify(stillAway.body));
    assert.equal(stillAway.body.code, 'FLEET_UNAVAILABLE');
    assert.equal(stillAway.headers.get('x-weft-node'), 'e', 'the refusal names the node that gave it');
    // The hub, too, goes on serving what it holds.
    const atHub = await postJson(`${h.url}/v2/models/remote/infer`, sumInput);
    assert.equal(atHub.status, 200);

    uplink.restore();
    // Rejoined: each side reaches the other's models again, in both directions.
    await waitFor('the edge reaches the hub again', async () => {
      const r = await postJson(`${e.url}/v2/models/remote/infer`, sumInput);
      return r.status === 200 && r.headers.get('x-weft-node') === 'h' ? true : undefined;
    }, 60_000);
    await waitFor('the hub reaches the edge again', async () => {
      const r = await postJson(`${h.url}/v2/models/edgeonly/infer`, sumInput);
      return r.status === 200 && r.headers.get('x-weft-node') === 'e' ? true : undefined;
    }, 60_000);
    const both = await Promise.all([fetchJson(`${h.url}/admin/fleet/nodes`), fetchJson(`${e.url}/admin/fleet/nodes`)]);
    for (const seen of both) assert.deepEqual(seen.body.nodes.map((n: any) => n.record.node).sort(), ['e', 'h']);
  } finally {
    await uplink.close();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await Promise.all(servers.map(async (s) => {
      if (s.exitCode === null && s.signalCode === null) {
        s.kill('SIGKILL');
        await once(s, 'exit');
      }
    }));
  }
});
