// End to end against a real node process: API keys made by `weft apikey` on the data dir and
// through the admin API, asked for by every API (KServe v2, OpenAI through the official client,
// admin, /metrics) with 401/403 naming what is missing, revocation seen by the running node, a
// tenant's rate limit, fair admission between a flooding tenant and a light one, and HTTPS with a
// certificate made at test time, renewed while the node runs, and with client certificates.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_PATH } from '../src/api/grpc/index.js';
import { freePort } from './kit/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIError } from 'openai';
import { testComponent, writeApp } from './kit/components.js';
import { openAiClient } from './kit/llm.js';
import { writeTestModels, SLOW_WIDTH } from './kit/models.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { runWeft, weftOk } from './kit/weft-cli.js';
import { fetchJson, startWeft, type WeftProcess } from './kit/weft-process.js';
import { waitFor } from './kit/wait.js';

const LIGHT_KEY = 'light-tenant-config-key';
const lastLine = (out: string) => out.trim().split('\n').at(-1)!;

describe('API keys, scopes and tenant limits', () => {
  let dir: string;
  let data: string;
  let weft: WeftProcess | undefined;
  let adminKey: string;
  const bearer = (key: string, extra: Record<string, string> = {}) => ({ Authorization: `Bearer ${key}`, ...extra });
  const affine = (key?: string) =>
    fetchJson(`${weft!.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === undefined ? {} : bearer(key)) },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-auth-e2e-'));
    data = join(dir, 'data');
    await writeTestModels(join(dir, 'models'));
    // One run at a time, no batching wait: each request costs one run of the slow model.
    writeFileSync(join(dir, 'models', 'slow', 'config.json'), JSON.stringify({ max_batch_size: 0, max_queue_size: 64, instances: 1 }));
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    adminKey = lastLine(await weftOk(['apikey', 'create', '--tenant', 'ops', '--scope', 'admin', '--data-dir', data]));
    const echo = writeApp(join(dir, 'echo'), await testComponent('echo'), { name: 'echo', version: '1.0.0' });
    weft = await startWeft(
      ['--models', join(dir, 'models'), '--model', `tiny=${gguf}`, '--app', echo, '--allow-unsigned', '--llm-threads', '1', '--api-key', `light:infer:*+metrics:${LIGHT_KEY}`, '--admission-slots', '1', '--max-json-depth', '48', '--request-timeout', '5s', '--energy', 'off'],
      { WEFT_DATA_DIR: data },
    );
  });
  after(async () => {
    await weft?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores only a hash of a created key, in a file only its owner reads', () => {
    const file = readFileSync(join(data, 'keys.json'), 'utf8');
    assert.ok(!file.includes(adminKey));
    assert.match(file, /"tenant": "ops"/);
  });

  it('asks every API for a key, on loopback too: 401 with WWW-Authenticate', async () => {
    assert.equal((await fetchJson(`${weft!.url}/v2/health/live`)).status, 200, 'liveness stays open');
    for (const [method, path] of [['POST', '/v2/models/affine/infer'], ['GET', '/metrics'], ['GET', '/admin/apps'], ['GET', '/admin/keys'], ['GET', '/v1/models'], ['POST', '/v2/repository/models/affine/unload'], ['GET', '/admin/dashboard']]) {
      for (const headers of [{}, bearer('not-a-key')]) {
        const res = await fetchJson(`${weft!.url}${path}`, { method, headers });
        assert.equal(res.status, 401, `${method} ${path}`);
        // The OpenAI API answers in OpenAI's error shape.
        assert.equal(path!.startsWith('/v1/') ? res.body.error.code : res.body.code, path!.startsWith('/v1/') ? 'unauthorized' : 'UNAUTHORIZED');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="weft"');
        assert.ok(!JSON.stringify(res.body).includes('not-a-key'), 'the presented key is not echoed');
      }
    }
    await assert.rejects(openAiClient(weft!.url).models.list(), (e: unknown) => e instanceof APIError && e.status === 401);
    assert.equal((await affine(adminKey)).status, 200, 'admin may do anything');
    assert.ok(!weft!.logs().includes(adminKey) && !weft!.logs().includes(LIGHT_KEY), 'no key in the logs');
  });

  it('answers a key lacking a scope with 403 naming it, on KServe, OpenAI, admin and /metrics', async () => {
    const made = await weftOk(['apikey', 'create', '--tenant', 'acme', '--scope', 'infer:aff*', '--url', weft!.url, '--token', adminKey]);
    const acme = lastLine(made);
    assert.match(made, /created key [0-9a-f]+ for tenant 'acme'/);
    assert.equal((await affine(acme)).status, 200);
    const metrics = await fetchJson(`${weft!.url}/metrics`, { headers: bearer(acme) });
    assert.deepEqual([metrics.status, metrics.body.code], [403, 'FORBIDDEN']);
    assert.match(metrics.body.error, /lacks the scope 'metrics'/);
    const unload = await fetchJson(`${weft!.url}/v2/repository/models/affine/unload`, { method: 'POST', headers: bearer(acme) });
    assert.equal(unload.status, 403);
    assert.match(unload.body.error, /'admin'/);
    const sum = await fetchJson(`${weft!.url}/v2/models/sum_two`, { headers: bearer(acme) });
    assert.match(sum.body.error, /'infer:sum_two'/);
    // A key lists the language models it may call, not the node's others.
    const listed = await fetchJson(`${weft!.url}/v1/models`, { headers: bearer(acme) });
    assert.deepEqual(listed.body.data, []);
    const all = await fetchJson(`${weft!.url}/v1/models`, { headers: bearer(LIGHT_KEY) });
    assert.deepEqual(all.body.data.map((m: { id: string }) => m.id), ['tiny']);
    await assert.rejects(
      openAiClient(weft!.url).withOptions({ apiKey: acme }).chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      (e: unknown) => e instanceof APIError && e.status === 403 && /infer:tiny/.test(e.message),
    );
    // The light tenant's config key holds infer:* and metrics.
    const light = openAiClient(weft!.url).withOptions({ apiKey: LIGHT_KEY });
    const chat = await light.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(chat.object, 'chat.completion');
    // A stream holds the one admission slot (--admission-slots 1) until it ends, then frees it.
    const stream = await light.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
    let chunks = 0;
    for await (const chunk of stream) if (chunk.object === 'chat.completion.chunk') chunks++;
    assert.ok(chunks > 0);
    assert.equal((await affine(LIGHT_KEY)).status, 200, 'the slot came back after the stream');
    assert.equal((await fetchJson(`${weft!.url}/metrics`, { headers: bearer(LIGHT_KEY) })).status, 200);
  });

  it("refuses a tenant's language-model calls once its tokens per minute are spent, streamed ones counted too", async () => {
    const made = await weftOk(['apikey', 'create', '--tenant', 'chatty', '--scope', 'infer:tiny', '--tokens-per-minute', '12', '--url', weft!.url, '--token', adminKey]);
    assert.match(made, /12 tokens\/min|created key/);
    const chatty = openAiClient(weft!.url).withOptions({ apiKey: lastLine(made), maxRetries: 0 });
    // Each call uses its prompt and up to 8 completion tokens; 12 a minute let in the first two
    // at most (a call goes in while any budget is left), never a third within the minute.
    let used = 0;
    let refused: APIError | undefined;
    for (let i = 0; i < 4 && refused === undefined; i++) {
      try {
        const stream = await chatty.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of stream) if (chunk.usage) used += chunk.usage.prompt_tokens + chunk.usage.completion_tokens;
      } catch (err) {
        if (!(err instanceof APIError)) throw err;
        refused = err;
      }
    }
    assert.ok(used >= 12, `the calls let in used ${used} tokens: the budget was spent`);
    assert.ok(refused !== undefined, 'a call past the budget is refused');
    assert.equal(refused.status, 429);
    assert.match(refused.message, /12 language-model tokens per minute/);
    assert.ok(Number(refused.headers?.get('retry-after')) >= 1, 'with Retry-After');
    // Another tenant's calls are not touched.
    const other = await openAiClient(weft!.url).withOptions({ apiKey: LIGHT_KEY }).chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(other.object, 'chat.completion');
  });

  it("refuses a tenant's language-model calls once its monthly tokens are spent, as OpenAI says a quota is, and counts them in the data dir", async () => {
    const made = await weftOk(['apikey', 'create', '--tenant', 'monthly', '--scope', 'infer:*', '--monthly-tokens', '5', '--url', weft!.url, '--token', adminKey]);
    const listed = await weftOk(['apikey', 'list', '--data-dir', data]);
    assert.match(listed, /5 tokens\/month/);
    const client = openAiClient(weft!.url).withOptions({ apiKey: lastLine(made), maxRetries: 0 });
    const first = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    const used = first.usage!.prompt_tokens + first.usage!.completion_tokens;
    assert.ok(used >= 5, `the first call used ${used} tokens: the month's budget is spent`);
    const refused = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof APIError, 'the second call is refused');
    assert.equal(refused.status, 429);
    assert.equal(refused.type, 'insufficient_quota');
    assert.equal(refused.code, 'quota_exceeded');
    assert.match(refused.message, /monthly budget of 5 language-model tokens/);
    const renews = Number(refused.headers?.get('retry-after'));
    assert.ok(renews >= 1 && renews <= 31 * 86_400, `Retry-After is the time to the next month: ${renews}`);
    // A tensor call uses no tokens: the key's token budget does not stop it.
    assert.equal((await affine(lastLine(made))).status, 200);
    await waitFor('the usage file holds the month', async () => {
      try {
        const file = JSON.parse(readFileSync(join(data, 'usage.json'), 'utf8'));
        return file.tenants?.monthly?.tokens === used ? true : undefined;
      } catch {
        return undefined;
      }
    }, 5_000);
  });

  it("counts a request for its key's tenant, whatever caller header it sends, and a refused one as anonymous", async () => {
    const secret = Buffer.from(readFileSync(join(data, 'caller-secret'), 'utf8').trim(), 'hex');
    const id = (raw: string) => createHmac('sha256', secret).update(raw).digest('hex').slice(0, 12);
    const requestsOf = async (caller: string) => {
      const stats = await fetchJson(`${weft!.url}/admin/stats`, { headers: bearer(adminKey) });
      return (stats.body.callers as Array<{ caller: string; requests: number }>).find((c) => c.caller === caller)?.requests ?? 0;
    };
    const before = await requestsOf(id('tenant:light'));
    for (let i = 0; i < 3; i++) {
      const r = await fetchJson(`${weft!.url}/v2/models/affine/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(LIGHT_KEY), 'x-weft-tenant': 'victim' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
      });
      assert.equal(r.status, 200);
    }
    // Refused requests naming random tenants take no caller slot.
    for (let i = 0; i < 5; i++) assert.equal((await fetchJson(`${weft!.url}/v2/models/affine/infer`, { method: 'POST', headers: { 'x-weft-tenant': `flood-${i}` } })).status, 401);
    assert.equal((await requestsOf(id('tenant:light'))) - before, 3, "the key's tenant");
    assert.equal(await requestsOf(id('tenant:victim')), 0, 'not the tenant the header named');
    assert.equal(await requestsOf(id('tenant:flood-0')), 0);
  });

  it('keeps nothing of an authenticated request once it is answered: memory stays flat under load', async () => {
    const rssMiB = () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${weft!.proc.pid}/status`, 'utf8'))?.[1]) / 1024;
    const text = 'x'.repeat(50_000);
    const body = JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'BYTES', data: [text, text, text, text] }] });
    const send = async () => (await fetchJson(`${weft!.url}/v2/models/identity_bytes/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(adminKey) }, body })).status;
    for (let i = 0; i < 40; i++) assert.equal(await send(), 200);
    const before = rssMiB();
    // 600 requests of 200 KB: a request context kept after its answer costs 120 MB or more.
    for (let i = 0; i < 600; i += 4) assert.deepEqual(await Promise.all([send(), send(), send(), send()]), [200, 200, 200, 200]);
    const grown = rssMiB() - before;
    assert.ok(grown < 64, `RSS grew ${grown.toFixed(0)} MiB over 600 requests`);
  });

  it("keeps the caller's API key from the app's component, and passes its other headers", async () => {
    const res = await fetch(`${weft!.url}/apps/echo/hello`, { headers: bearer(LIGHT_KEY, { 'x-custom': 'yes' }) });
    assert.equal(res.status, 200);
    const seen = (res.headers.get('x-request-headers') ?? '').split(',');
    assert.ok(seen.includes('x-custom'), seen.join(','));
    assert.ok(!seen.includes('authorization'), seen.join(','));
  });

  it('lists keys without the keys, and a revocation on the data dir reaches the running node', async () => {
    const acme = lastLine(await weftOk(['apikey', 'create', '--tenant', 'acme', '--scope', 'infer:affine', '--data-dir', data]));
    await waitFor('the node sees the new key', async () => ((await affine(acme)).status === 200 ? true : undefined), 10_000);
    const listed = await weftOk(['apikey', 'list', '--url', weft!.url, '--token', adminKey]);
    assert.ok(!listed.includes(acme) && !listed.includes(LIGHT_KEY) && !listed.includes(adminKey));
    const id = /^weft_([0-9a-f]+)_/.exec(acme)![1]!;
    assert.match(listed, new RegExp(`${id}\\s+acme\\s+infer:affine`));
    assert.match(await weftOk(['apikey', 'revoke', id, '--data-dir', data]), /revoked key/);
    await waitFor('the node refuses the revoked key', async () => ((await affine(acme)).status === 401 ? true : undefined), 10_000);
    const again = await runWeft(['apikey', 'revoke', id, '--url', weft!.url, '--token', adminKey]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /KEY_NOT_FOUND/);
  });

  it('answers a tenant over its rate with 429 and Retry-After', async () => {
    const res = await fetchJson(`${weft!.url}/admin/keys`, { method: 'POST', headers: bearer(adminKey, { 'content-type': 'application/json' }), body: JSON.stringify({ tenant: 'slowpoke', scopes: ['infer:affine'], rate: 1 }) });
    assert.equal(res.status, 201);
    const key = res.body.key as string;
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 3; i++) {
      const r = await affine(key);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
    assert.equal(limited!.body.code, 'RATE_LIMITED');
    assert.match(limited!.body.error, /rate limit of 1 requests\/s/);
    assert.ok(Number(limited!.headers.get('retry-after')) >= 1);
  });

  it('answers too deep JSON and too large headers with a clear error, and keeps serving', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const kserve = await fetchJson(`${weft!.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(adminKey) },
      body: `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":${deep}}]}`,
    });
    assert.deepEqual([kserve.status, kserve.body.code], [400, 'JSON_TOO_DEEP']);
    assert.match(kserve.body.error, /deeper than 48 levels/, 'the bound is --max-json-depth');
    // 40 levels is within the bound: parsed, then refused for not matching its shape.
    const within = await fetchJson(`${weft!.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(adminKey) },
      body: `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":${'['.repeat(36)}1${']'.repeat(36)}}]}`,
    });
    assert.equal(within.status, 400);
    assert.notEqual(within.body.code, 'JSON_TOO_DEEP');
    const chat = await fetchJson(`${weft!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(LIGHT_KEY) },
      body: `{"model":"tiny","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${'{"items":'.repeat(3000)}{}${'}'.repeat(3000)}}}}`,
    });
    assert.equal(chat.status, 400);
    assert.match(JSON.stringify(chat.body), /nested deeper than 48/);
    const big = await fetch(`${weft!.url}/v2/health/live`, { headers: { 'x-filler': 'a'.repeat(20_000) } });
    assert.equal(big.status, 431);
    assert.equal((await affine(adminKey)).status, 200, 'the node keeps serving');
  });

  it('answers a client that sends its body too slowly with 408 and closes it, serving others meanwhile, and logs no error', async () => {
    const { port, hostname } = new URL(weft!.url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = once(socket, 'close');
    const started = Date.now();
    // Ten of the hundred bytes it announces, then nothing: --request-timeout is 5 s.
    socket.write(`POST /v2/models/affine/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs":`);
    assert.equal((await affine(adminKey)).status, 200, 'others are served while it dawdles');
    await Promise.race([closed, sleep(30_000).then(() => assert.fail(`not closed after 30 s: ${answer}`))]);
    const waited = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(waited >= 4_500, `closed after ${waited} ms, before the timeout`);
    await sleep(200);
    assert.doesNotMatch(weft!.logs(), /request failed.*aborted/, 'a slow client is not the node failing');
  });

  it("keeps a light tenant's request from waiting behind a heavy tenant's flood", async () => {
    const heavy = lastLine(await weftOk(['apikey', 'create', '--tenant', 'heavy', '--scope', 'infer:slow', '--url', weft!.url, '--token', adminKey]));
    const slow = (key: string) =>
      fetchJson(`${weft!.url}/v2/models/slow/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, SLOW_WIDTH], datatype: 'FP32', data: Array(SLOW_WIDTH).fill(1) }] }),
      });
    assert.equal((await slow(heavy)).status, 200, 'warm: the model is loaded');
    const FLOOD = 20;
    let heavyDone = 0;
    const flood = Array.from({ length: FLOOD }, () => slow(heavy).then((r) => (heavyDone++, r.status)));
    // Once one has finished, the rest have long arrived and wait at the gate.
    await waitFor('a flood request finishes', async () => (heavyDone > 0 ? true : undefined), 120_000, 20);
    const doneWhenLightSent = heavyDone;
    const light = await slow(LIGHT_KEY);
    const doneWhileLightWaited = heavyDone - doneWhenLightSent;
    assert.equal(light.status, 200);
    assert.deepEqual([...new Set(await Promise.all(flood))], [200]);
    // FIFO would put it behind every heavy request still waiting (FLOOD - 1 or so); round-robin
    // lets it in after the one running. The bound leaves room for a loaded machine, where the
    // light request may take a few heavy runs just to reach the gate.
    const stillWaiting = FLOOD - doneWhenLightSent;
    assert.ok(doneWhileLightWaited <= stillWaiting / 2, `${doneWhileLightWaited} of the ${stillWaiting} waiting heavy requests finished before the light one`);
  });
});

describe('weighted fair queueing inside a model queue', () => {
  // No admission gate (--admission-slots 0): whatever fairness there is comes from the slow
  // model's own queue, which orders calls by the key's tenant and --tenant-weight.
  let dir: string;
  let node: WeftProcess | undefined;
  const keys: Record<string, string> = {};
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-auth-wfq-'));
    const data = join(dir, 'data');
    await writeTestModels(join(dir, 'models'));
    writeFileSync(join(dir, 'models', 'slow', 'config.json'), JSON.stringify({ max_batch_size: 0, max_queue_size: 64, instances: 1 }));
    for (const tenant of ['heavy', 'gold']) keys[tenant] = lastLine(await weftOk(['apikey', 'create', '--tenant', tenant, '--scope', 'infer:slow', '--data-dir', data]));
    node = await startWeft(['--models', join(dir, 'models'), '--admission-slots', '0', '--tenant-weight', 'gold=4', '--energy', 'off'], { WEFT_DATA_DIR: data });
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a heavier tenant's requests ahead of another tenant's flood, by weight", async () => {
    const slow = (tenant: string) =>
      fetchJson(`${node!.url}/v2/models/slow/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', Authorization: `Bearer ${keys[tenant]}` },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, SLOW_WIDTH], datatype: 'FP32', data: Array(SLOW_WIDTH).fill(1) }] }),
      });
    assert.equal((await slow('heavy')).status, 200, 'warm: the model is loaded');
    const FLOOD = 24;
    let heavyDone = 0;
    const flood = Array.from({ length: FLOOD }, () => slow('heavy').then((r) => (heavyDone++, r.status)));
    await waitFor('a flood request finishes', async () => (heavyDone > 0 ? true : undefined), 120_000, 20);
    const doneWhenGoldSent = heavyDone;
    const gold = await Promise.all(Array.from({ length: 4 }, () => slow('gold').then((r) => ({ status: r.status, heavyDone }))));
    assert.deepEqual(gold.map((g) => g.status), [200, 200, 200, 200]);
    assert.deepEqual([...new Set(await Promise.all(flood))], [200]);
    // FIFO would serve the four behind every heavy request still queued (about FLOOD - 1);
    // weight 4 against 1 lets all four in within about one heavy turn. The bound leaves room for
    // a loaded machine, where the requests may take a few heavy runs just to reach the queue.
    const stillWaiting = FLOOD - doneWhenGoldSent;
    const heavyMeanwhile = Math.max(...gold.map((g) => g.heavyDone)) - doneWhenGoldSent;
    assert.ok(heavyMeanwhile <= stillWaiting / 3, `${heavyMeanwhile} of the ${stillWaiting} queued heavy requests finished before gold's four`);
  });
});

describe('serving without keys', () => {
  it('never prints a key or token in `weft config`', async () => {
    const out = await weftOk(['config', '--admin-token', 'admin-secret-1', '--api-key', 'acme:metrics:api-secret-2']);
    assert.ok(!out.includes('admin-secret-1') && !out.includes('api-secret-2'));
    assert.match(out, /adminToken\n.*\n {2}value: \(set, not shown\)/);
  });

  it('refuses a non-loopback address unless --insecure, and says how to make a key', async () => {
    const data = mkdtempSync(join(tmpdir(), 'weft-auth-nokeys-'));
    try {
      const r = await runWeft(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', data, '--model', 'x=/nonexistent.onnx']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refusing to serve 0\.0\.0\.0 without API keys/);
      assert.match(r.stderr, /weft apikey create/);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('TLS', () => {
  let dir: string;
  let weft: WeftProcess | undefined;
  let grpcPort: number;
  before(async () => {
    grpcPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'weft-auth-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    weft = await startWeft(['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--grpc-port', String(grpcPort), '--model', `tiny=${writeTinyGguf(join(dir, 'tiny.gguf'))}`, '--llm-threads', '1', '--energy', 'off'], { WEFT_DATA_DIR: join(dir, 'data') });
  });
  after(async () => {
    await weft?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with the given certificate, and plain HTTP gets no answer', async () => {
    assert.match(weft!.url, /^https:\/\//);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${weft!.url}/v2/health/ready`, { ca }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        })
        .on('error', reject);
    });
    assert.match(body, /^200/);
    await assert.rejects(fetch(weft!.url.replace('https:', 'http:') + '/v2/health/ready'));
  });

  it('picks up a renewed certificate without a restart, on HTTPS and gRPC, and keeps the last good one when a pair does not load', async () => {
    /** The subject CN a new connection to the HTTPS port, or the gRPC one, is shown. */
    const shownOn = (port: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: new URL(weft!.url).hostname, port, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
          const cn = socket.getPeerCertificate().subject.CN;
          socket.end();
          resolve(String(cn));
        });
        socket.on('error', reject);
      });
    const presented = () => shownOn(Number(new URL(weft!.url).port));
    assert.equal(await presented(), 'localhost');
    assert.equal(await shownOn(grpcPort), 'localhost');
    // Renewed as certbot or a Kubernetes secret does it: new files renamed over the old ones.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.new'), '-out', join(dir, 'cert.new'), '-days', '1', '-subj', '/CN=renewed', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    renameSync(join(dir, 'key.new'), join(dir, 'key.pem'));
    renameSync(join(dir, 'cert.new'), join(dir, 'cert.pem'));
    await waitFor('the renewed certificate is served', async () => ((await presented()) === 'renewed' ? true : undefined), 20_000);
    await waitFor('the renewed certificate is served over gRPC', async () => ((await shownOn(grpcPort)) === 'renewed' ? true : undefined), 5_000);
    // A broken certificate: logged, and the node goes on with the renewed one.
    writeFileSync(join(dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await waitFor('the broken pair is refused', async () => (/does not load; the previous one stays in use/.test(weft!.logs()) ? true : undefined), 20_000);
    assert.equal(await presented(), 'renewed');
    assert.equal(await shownOn(grpcPort), 'renewed');
    assert.doesNotMatch(weft!.logs(), /PRIVATE KEY/, 'no key material in the log');
  });
});

describe('mutual TLS', () => {
  let dir: string;
  let weft: WeftProcess | undefined;
  let grpcPort: number;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-auth-mtls-'));
    openssl('req', '-x509', ...ec, '-keyout', 'server.key', '-out', 'server.pem', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1');
    // A CA the node trusts for clients, a client it signed, and a client that signed itself.
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=weft-test-clients');
    openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '1');
    openssl('req', '-x509', ...ec, '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '1', '-subj', '/CN=rogue');
    grpcPort = await freePort();
    weft = await startWeft(['--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), '--tls-client-ca', join(dir, 'ca.pem'), '--grpc-port', String(grpcPort), '--model', `tiny=${writeTinyGguf(join(dir, 'tiny.gguf'))}`, '--llm-threads', '1', '--energy', 'off'], { WEFT_DATA_DIR: join(dir, 'data') });
  });
  after(async () => {
    await weft?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (client: { cert: string; key: string } | undefined) =>
    new Promise<number>((resolve, reject) => {
      const options = { ca: readFileSync(join(dir, 'server.pem')), ...(client === undefined ? {} : { cert: readFileSync(join(dir, client.cert)), key: readFileSync(join(dir, client.key)) }) };
      https
        .get(`${weft!.url}/v2/health/ready`, options, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        })
        .on('error', reject);
    });

  it('serves a client whose certificate the CA signed, and no other', async () => {
    assert.equal(await get({ cert: 'client.pem', key: 'client.key' }), 200);
    await assert.rejects(get(undefined), 'no client certificate');
    await assert.rejects(get({ cert: 'rogue.pem', key: 'rogue.key' }), 'a certificate the CA did not sign');
    assert.equal(await get({ cert: 'client.pem', key: 'client.key' }), 200, 'and it goes on serving');
  });

  it('serves gRPC over the same TLS, client certificate included', async () => {
    const Service = (grpc.loadPackageDefinition(loadSync(PROTO_PATH, { keepCase: true })) as any).inference.GRPCInferenceService;
    const live = (credentials: grpc.ChannelCredentials) =>
      new Promise<boolean>((resolve, reject) => {
        const client = new Service(`127.0.0.1:${grpcPort}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' });
        client.ServerLive({}, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: { live: boolean }) => {
          client.close();
          if (err) reject(err);
          else resolve(res.live);
        });
      });
    const file = (name: string) => readFileSync(join(dir, name));
    assert.equal(await live(grpc.credentials.createSsl(file('server.pem'), file('client.key'), file('client.pem'))), true);
    await assert.rejects(live(grpc.credentials.createInsecure()), 'plaintext gRPC on a TLS node');
    await assert.rejects(live(grpc.credentials.createSsl(file('server.pem'))), 'TLS without a client certificate');
  });

  it('refuses a client CA without HTTPS', async () => {
    const refused = await runWeft(['serve', '--tls-client-ca', join(dir, 'ca.pem'), '--port', '0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /INVALID_CONFIG: .*needs --tls-cert and --tls-key/);
  });
});
