// API keys across a fleet, end to end: a nats-server and two `weft` nodes. A key made through
// one node's admin API (`weft apikey create --url`) lives in the fleet's key bucket: it works on
// the other node, served there and through a forward, with its scopes; a node bound to every
// address starts on the fleet's keys alone; a revocation on one node is refused on the other
// within seconds; a tenant's rate is counted across the fleet, a forward once; and a reachable
// node joining a fleet without any key refuses to start.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsCluster, type NatsCluster } from './kit/nats.js';
import { waitFor } from './kit/wait.js';
import { writeSumApp } from './kit/apps.js';
import { weftOk } from './kit/weft-cli.js';
import { fetchJson, startWeft, type WeftProcess } from './kit/weft-process.js';

const ADMIN_TOKEN = 'fleet-keys-admin-token';
const lastLine = (out: string) => out.trim().split('\n').at(-1)!;

let cluster: NatsCluster | undefined;
let dir: string;
let sum: string;
const nodes = new Map<string, WeftProcess>();
let opsKey: string;

function start(name: string, model: string, extra: string[] = [], fleet = cluster!.urls): Promise<WeftProcess> {
  return startWeft(['--fleet', fleet, '--node-name', name, '--heartbeat-interval', '1s', '--model', `${model}=${sum}`, ...extra], { WEFT_DATA_DIR: join(dir, name) });
}

const url = (name: string) => nodes.get(name)!.url;

function infer(node: string, model: string, key?: string) {
  return fetchJson(`${url(node)}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { Authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] }),
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-fleet-keys-'));
  sum = join(await writeSumApp(join(dir, 'sum'), 'sum'), 'models', 'sum.onnx');
  cluster = await startNatsCluster(1);
  // a has a key of its own (the admin token); b, bound to every address, has none: it starts
  // only because the fleet already holds keys.
  nodes.set('a', await start('a', 'base', ['--admin-token', ADMIN_TOKEN]));
  opsKey = lastLine(await weftOk(['apikey', 'create', '--tenant', 'ops', '--scope', 'admin', '--url', url('a'), '--token', ADMIN_TOKEN]));
  nodes.set('b', await start('b', 'remote', ['--host', '0.0.0.0']));
  await waitFor('a routes to b', async () => {
    const r = await fetchJson(`${url('a')}/admin/fleet/nodes`, { headers: { Authorization: `Bearer ${opsKey}` } });
    return (r.body.nodes ?? []).some((n: any) => n.record.node === 'b' && n.record.models.includes('remote')) ? true : undefined;
  }, 60_000);
});

after(async () => {
  await Promise.all([...nodes.values()].map((p) => p.stop('SIGKILL')));
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a key made on one node works on every node, with its scopes, and through a forward', async () => {
  const made = await weftOk(['apikey', 'create', '--tenant', 'acme', '--scope', 'infer:remote', '--url', url('a'), '--token', opsKey]);
  const acme = lastLine(made);
  const id = /created key ([0-9a-f]+)/.exec(made)![1]!;

  const bare = await infer('b', 'remote');
  assert.equal(bare.status, 401, 'b asks for a key: the fleet has keys');
  assert.match(bare.headers.get('www-authenticate') ?? '', /Bearer/);

  const direct = await infer('b', 'remote', acme);
  assert.equal(direct.status, 200, JSON.stringify(direct.body));
  assert.deepEqual(direct.body.outputs[0].data, [4]);

  const forwarded = await infer('a', 'remote', acme);
  assert.equal(forwarded.status, 200, JSON.stringify(forwarded.body));
  assert.equal(forwarded.headers.get('x-weft-node'), 'b', 'served by b, authenticated on both nodes');

  const outOfScope = await infer('a', 'base', acme);
  assert.equal(outOfScope.status, 403);
  assert.match(outOfScope.body.error, /infer:base/);

  const listed = await weftOk(['apikey', 'list', '--url', url('b'), '--token', opsKey]);
  const row = listed.split('\n').find((l) => l.startsWith(id));
  assert.ok(row !== undefined && /acme/.test(row) && /fleet/.test(row), listed);
  assert.ok(!listed.includes(acme.slice('weft_'.length + 13) /* the secret after weft_<id>_ (base64url may hold '_') */), 'the list shows no key');

  // Revoked on b, refused on a within seconds.
  const revokedAt = Date.now();
  await weftOk(['apikey', 'revoke', id, '--url', url('b'), '--token', opsKey]);
  await waitFor('a refuses the revoked key', async () => ((await infer('a', 'remote', acme)).status === 401 ? true : undefined), 5_000);
  assert.ok(Date.now() - revokedAt < 5_000);
  assert.equal((await infer('b', 'remote', acme)).status, 401);
});

test("a tenant's rate is counted fleet-wide, and a forwarded request once", async () => {
  const metered = lastLine(await weftOk(['apikey', 'create', '--tenant', 'metered', '--scope', 'infer:*', '--rate', '4', '--url', url('a'), '--token', opsKey]));
  // Twelve at once, six to each node: the fleet admits the tenant's burst of 4 (and what refills
  // meanwhile), not 4 per node.
  const burst = await Promise.all([...Array.from({ length: 6 }, () => infer('a', 'base', metered)), ...Array.from({ length: 6 }, () => infer('b', 'remote', metered))]);
  const admitted = burst.filter((r) => r.status === 200).length;
  assert.ok(admitted >= 4 && admitted <= 5, `${admitted} of 12 admitted: ${burst.map((r) => r.status).join(',')}`);
  const refused = burst.find((r) => r.status === 429)!;
  assert.match(refused.body.error, /rate limit of 4 requests\/s/);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  // Refilled, four forwarded requests (a → b) take four tokens, not eight.
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 4; i++) {
    const r = await infer('a', 'remote', metered);
    assert.equal(r.status, 200, `forward ${i + 1}: ${JSON.stringify(r.body)}`);
    assert.equal(r.headers.get('x-weft-node'), 'b');
  }
});

/** Waits until the fleet's key bucket has brought a key made on a to `node` (a watch away), and a request with it is served there. */
function knownOn(node: string, key: string): Promise<true> {
  return waitFor(`${node} knows the new key`, async () => ((await infer(node, 'remote', key)).status === 200 ? true : undefined), 15_000);
}

test("a tenant's concurrency is counted fleet-wide: requests in flight on one node count on the other", async () => {
  const narrow = lastLine(await weftOk(['apikey', 'create', '--tenant', 'narrow', '--scope', 'infer:*', '--concurrency', '2', '--url', url('a'), '--token', opsKey]));
  await knownOn('b', narrow);
  // Two requests held in flight on a: admitted, their bodies not finished yet. The request b
  // just served may still count on a for the moment its end takes to reach a's mirror; a held
  // request refused meanwhile is sent again.
  const early: string[] = [];
  const hold = () => {
    const req = http.request(`${url('a')}/v2/models/base/infer`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${narrow}` } });
    const held = { req, status: undefined as number | undefined, answered: undefined as unknown as Promise<number> };
    req.on('error', (err) => early.push(err.message));
    held.answered = new Promise<number>((resolve) => req.on('response', (res) => (res.resume(), (held.status = res.statusCode!), resolve(res.statusCode!))));
    req.write('{"inputs":[');
    return held;
  };
  const held = [hold(), hold()];
  // a holds both (its own count refuses a third), so what follows tests the fleet's count alone.
  let last = '';
  await waitFor('a holds both requests in flight', async () => {
    for (const [i, h] of held.entries()) {
      if (h.status === undefined) continue;
      early.push(String(h.status));
      held[i] = hold();
    }
    const r = await infer('a', 'base', narrow);
    last = `${r.status} ${JSON.stringify(r.body)}`;
    return r.status === 429 && /has 2 requests in flight, its concurrency limit/.test(r.body.error) ? true : undefined;
  }, 10_000).catch((err: Error) => assert.fail(`${err.message}; a's last answer: ${last}; held requests answered early: ${early.join(', ') || 'none'}`));
  const fleetLines = (node: string) => nodes.get(node)!.logs().split('\n').filter((l) => l.includes('fleet:')).slice(-5).join(' | ');
  const refused = await waitFor('b counts the requests in flight on a', async () => {
    const r = await infer('b', 'remote', narrow);
    last = `${r.status} ${JSON.stringify(r.body)}`;
    return r.status === 429 ? r : undefined;
  }, 15_000).catch((err: Error) => assert.fail(`${err.message}; b's last answer: ${last}; a's fleet log: ${fleetLines('a')}; b's: ${fleetLines('b')}`));
  assert.equal(refused.body.code, 'RATE_LIMITED');
  assert.match(refused.body.error, /tenant 'narrow' has 2 requests in flight \(2 on other nodes of the fleet\), its concurrency limit/);
  for (const { req } of held) req.end('{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}');
  assert.deepEqual(await Promise.all(held.map((h) => h.answered)), [200, 200]);
  await waitFor('b serves the tenant again once they finished', async () => ((await infer('b', 'remote', narrow)).status === 200 ? true : undefined), 10_000);
});

test("a tenant's monthly joule budget is counted fleet-wide: spent on one node, refused on the other", async () => {
  const made = await weftOk(['apikey', 'create', '--tenant', 'frugal', '--scope', 'infer:*', '--monthly-joules', '0.000001', '--url', url('a'), '--token', opsKey]);
  const frugal = lastLine(made);
  // The first request that b lets in spends the budget.
  await knownOn('b', frugal);
  // Its joules settle when b's meter interval closes (1 s), and reach the fleet's counter within
  // a second more; a then reads a total at most a second old.
  const refused = await waitFor('a refuses the tenant', async () => {
    const r = await infer('a', 'base', frugal);
    return r.status === 429 ? r : undefined;
  }, 15_000);
  assert.equal(refused.body.code, 'QUOTA_EXCEEDED');
  assert.equal(refused.body.field, 'monthlyJoules');
  assert.match(refused.body.error, /tenant 'frugal' has used its monthly budget of 0\.000001 J/);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal((await infer('a', 'base', opsKey)).status, 200, 'another tenant is served');
});

test('a second node under a live node\'s name refuses to join', async () => {
  await assert.rejects(start('a', 'base', ['--data-dir', join(dir, 'a-twin')]), /a node named 'a' is already in the fleet/);
  assert.equal((await infer('a', 'base', opsKey)).status, 200, 'the first goes on serving');
});

test('a node reachable from the network refuses to join a fleet that has no keys', async () => {
  const empty = await startNatsCluster(1);
  try {
    await assert.rejects(start('lonely', 'base', ['--host', '0.0.0.0'], empty.urls), /refusing to serve 0\.0\.0\.0 without API keys/);
  } finally {
    await empty.stop();
  }
});
