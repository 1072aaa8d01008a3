// Fleet, part 1, end to end: a 3-server nats-server cluster with JetStream and four `weft`
// nodes as separate processes on loopback. Joining and inventory, deploys with constraints
// through the CLI, bad input, memory budgets under many deploys, a node that cannot pull,
// kill -9 of a replica's node, of the scheduler's node, and of a nats-server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { startNatsCluster, type NatsCluster } from './kit/nats.js';
import { waitFor } from './kit/wait.js';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { runWeft, weftOk } from './kit/weft-cli.js';
import { writeSumApp } from './kit/apps.js';

const HEARTBEAT = '1s';
let cluster: NatsCluster;
let dir: string;
const nodes = new Map<string, { proc: WeftProcess; dataDir: string }>();
let base: string;

async function startNode(name: string, site: string, labels: string[], extra: string[] = []): Promise<WeftProcess> {
  const dataDir = join(dir, name);
  const proc = await startWeft(
    ['--fleet', cluster.urls, '--node-name', name, '--site', site, ...labels.flatMap((l) => ['--label', l]), '--heartbeat-interval', HEARTBEAT, '--fleet-replicas', '3', '--model', `base=${base}`, '--memory-budget', '1000B', '--scale-cooldown', '1s', ...extra],
    { WEFT_DATA_DIR: dataDir },
  );
  nodes.set(name, { proc, dataDir });
  return proc;
}

function url(name: string): string {
  return nodes.get(name)!.proc.url;
}

async function appStatus(node: string, app: string): Promise<any> {
  const r = await fetchJson(`${url(node)}/admin/fleet/apps/${app}`);
  return r.status === 200 ? r.body.app : undefined;
}

function readyOn(status: any): string[] {
  return status.placed.filter((r: any) => r.state === 'ready').map((r: any) => r.node).sort();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-fleet-'));
  base = join(await writeSumApp(join(dir, 'base'), 'base'), 'models', 'sum.onnx');
  cluster = await startNatsCluster(3);
  await Promise.all([
    startNode('n1', 'east', ['role=worker', 'tier=a'], ['--allow-unsigned']),
    startNode('n2', 'west', ['role=worker'], ['--allow-unsigned']),
    startNode('n3', 'east', ['role=edge'], ['--allow-unsigned']),
    startNode('n4', 'west', ['role=worker'], ['--allow-unsigned']),
  ]);
});

after(async () => {
  await Promise.all([...nodes.values()].map((n) => n.proc.stop('SIGKILL')));
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('nodes join and publish their inventory; `weft nodes` lists them with one scheduler', async () => {
  const answer = await waitFor('four nodes', async () => {
    const r = await fetchJson(`${url('n3')}/admin/fleet/nodes`);
    return r.body.nodes?.length === 4 && r.body.scheduler ? r.body : undefined;
  });
  assert.equal(answer.fleet, true);
  const n1 = answer.nodes.find((n: any) => n.record.node === 'n1').record;
  assert.equal(n1.site, 'east');
  assert.deepEqual(n1.labels, { role: 'worker', tier: 'a' });
  assert.equal(n1.budget.cpu, 1000);
  assert.ok(n1.cpu.cores >= 1 && n1.memory.totalBytes > 0);
  assert.deepEqual(n1.gpus, []);
  assert.ok(n1.models.includes('base'));
  assert.equal(answer.nodes.filter((n: any) => n.scheduler).length, 1);
  const table = await weftOk(['nodes', '--url', url('n2')]);
  assert.match(table, /fleet: 4 nodes, policy spread/);
  for (const name of ['n1', 'n2', 'n3', 'n4']) assert.match(table, new RegExp(`^${name}\\*?\\s+(east|west)`, 'm'));
  assert.match(table, /estimated/);
  const json = JSON.parse(await weftOk(['nodes', '--json', '--url', url('n2')]));
  assert.equal(json.nodes.length, 4);
  assert.match(await weftOk(['deploy', '--help']), /--replicas N \| --min A --max B/);
});

test('a new user deploys with constraints: replicas land on matching nodes, spread over sites, and serve', async () => {
  const app = await writeSumApp(join(dir, 'alpha'), 'alpha');
  const out = await weftOk(['deploy', app, '--replicas', '2', '--select', 'role=worker', '--spread', 'site', '--url', url('n3')]);
  assert.match(out, /^deployed: alpha/);
  const status = await waitFor('alpha ready twice', async () => {
    const s = await appStatus('n1', 'alpha');
    return readyOn(s).length === 2 ? s : undefined;
  });
  const where = status.placed.map((r: any) => r.node);
  assert.ok(where.every((n: string) => ['n1', 'n2', 'n4'].includes(n)), `placed on ${where}`);
  assert.deepEqual(new Set(status.placed.map((r: any) => r.site)), new Set(['east', 'west']));
  assert.equal(status.health, 'healthy');
  const answer = await postJson(`${url(where[0])}/v2/models/alpha-sum/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.outputs[0].data, [4]);
  const text = await weftOk(['status', '--url', url('n2')]);
  assert.match(text, /^alpha\s+healthy\s+2\s+2/m);
  assert.match(text, /^routing from n2 \(site \w+\)/m);
  assert.match(text, /score = 1 × queued \+ 1 × latency ms \+ 1 × joules\/request \+ 8 if outside site/);
  // The same deploy again changes nothing; another spec under the same name is refused.
  assert.match(await weftOk(['deploy', app, '--replicas', '2', '--select', 'role=worker', '--spread', 'site', '--url', url('n4')]), /^unchanged: alpha/);
  const clash = await runWeft(['deploy', app, '--replicas', '3', '--url', url('n4')]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /APP_EXISTS: app 'alpha' is already deployed in the fleet/);
  // Two deploys of one name racing through two nodes: compare-and-set lets exactly one win.
  const race = await writeSumApp(join(dir, 'race'), 'race');
  const answers = await Promise.all([postJson(`${url('n1')}/admin/fleet/apps`, { ref: race, replicas: 1 }), postJson(`${url('n2')}/admin/fleet/apps`, { ref: race, replicas: 2 })]);
  assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
  const winner = answers.find((a) => a.status === 201)!.body.app;
  const seen = await waitFor('race seen on n3', () => appStatus('n3', 'race'));
  assert.equal(seen.replicas.min, winner.replicas.min);
  await weftOk(['undeploy', 'race', '--url', url('n3')]);
});

test('bad input: unknown reference, impossible constraints, bad flags and malformed NATS messages get clear errors; nothing is corrupted', async () => {
  const unknown = await runWeft(['deploy', join(dir, 'no-such-app'), '--url', url('n1')]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /weft: [A-Z_]+: /);
  assert.match(unknown.stderr, /no-such-app/);
  const app = await writeSumApp(join(dir, 'beta'), 'beta');
  const impossible = await postJson(`${url('n1')}/admin/fleet/apps`, { ref: app, select: { role: 'gpu' }, require: ['gpu'] });
  assert.equal(impossible.status, 422);
  assert.equal(impossible.body.code, 'UNSCHEDULABLE');
  assert.match(impossible.body.error, /0\/4 nodes fit: 4 have no free GPU/);
  const range = await postJson(`${url('n1')}/admin/fleet/apps`, { ref: app, min: 3, max: 1 });
  assert.equal(range.status, 400);
  assert.equal(range.body.field, 'min');
  const field = await postJson(`${url('n1')}/admin/fleet/apps`, { ref: app, replicas: 'two' });
  assert.equal(field.status, 400);
  assert.equal(field.body.field, 'replicas');
  assert.equal((await fetchJson(`${url('n1')}/admin/fleet/apps/beta`)).status, 404);

  // Garbage on the fleet's own subjects: logged and dropped by every node.
  const nc = await connect({ servers: cluster.servers.map((s) => s.url) });
  nc.publish('$KV.weft_apps.evil', 'not json at all');
  nc.publish('$KV.weft_nodes.n9', JSON.stringify({ v: 1, node: 'n9' }));
  nc.publish('$KV.weft_placements.alpha', JSON.stringify({ v: 1, app: 'alpha', assigned: 'everywhere' }));
  await nc.flush();
  await nc.close();
  await waitFor('the drop logged', async () => (nodes.get('n2')!.proc.logs().includes('fleet: dropped a malformed message') ? true : undefined));
  const apps = (await fetchJson(`${url('n2')}/admin/fleet/apps`)).body.apps.map((a: any) => a.name);
  assert.deepEqual(apps, ['alpha']);
  assert.equal((await fetchJson(`${url('n2')}/admin/fleet/nodes`)).body.nodes.length, 4);
  const alpha = await waitFor('alpha still healthy', async () => {
    const s = await appStatus('n3', 'alpha');
    return s?.health === 'healthy' ? s : undefined;
  });
  assert.equal(readyOn(alpha).length, 2);
});

test('many apps deployed at once never exceed any node budget; the rest are pending with the reason', async () => {
  const refs = await Promise.all(Array.from({ length: 8 }, (_, i) => writeSumApp(join(dir, `m${i}`), `m${i}`, { seed: i + 1 })));
  const names = ['n1', 'n2', 'n3', 'n4'];
  const results = await Promise.all(refs.map((ref, i) => postJson(`${url(names[i % 4]!)}/admin/fleet/apps`, { ref, replicas: 2 })));
  for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
  const all = await waitFor('every app placed or pending', async () => {
    const list = (await fetchJson(`${url('n1')}/admin/fleet/apps`)).body.apps as any[];
    return list.length === 9 && list.every((a) => a.pending !== 'waiting for the scheduler') && list.every((a) => a.placed.every((r: any) => r.state !== 'assigned' && r.state !== 'loading')) ? list : undefined;
  });
  const used = new Map<string, number>();
  for (const a of all) for (const r of a.placed) used.set(r.node, (used.get(r.node) ?? 0) + a.memoryBytes);
  for (const [node, bytes] of used) assert.ok(bytes <= 1000, `${node} holds ${bytes} B of a 1000 B budget`);
  const pending = all.filter((a) => a.pending !== '');
  assert.ok(pending.length > 0, 'some replicas must be pending: the budgets hold fewer');
  assert.match(pending[0].pending, /lack memory \(need \d+ B\)/);
  // Undeploy: every node unloads them.
  await Promise.all(refs.map((_, i) => weftOk(['undeploy', `m${i}`, '--url', url('n2')])));
  await waitFor('m* removed from every node', async () => {
    const lists = await Promise.all(names.map((n) => fetchJson(`${url(n)}/admin/apps`)));
    return lists.every((l) => l.body.apps.every((a: any) => !a.name.startsWith('m'))) ? true : undefined;
  });
  assert.equal((await runWeft(['undeploy', 'm0', '--url', url('n2')])).code, 1);
});

test('a node that cannot pull reports the error and the scheduler places the replica elsewhere', async () => {
  const app = await writeSumApp(join(dir, 'local-only'), 'local-only');
  // A store tag only n2's store holds: the other nodes fail to open it.
  await weftOk(['pack', app, '--tag', 'local-only:1'], { WEFT_DATA_DIR: nodes.get('n2')!.dataDir });
  const r = await postJson(`${url('n2')}/admin/fleet/apps`, { ref: 'local-only:1', replicas: 2 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const status = await waitFor('failures recorded', async () => {
    const s = await appStatus('n1', 'local-only');
    return s && Object.keys(s.failed).length >= 1 && readyOn(s).includes('n2') ? s : undefined;
  });
  assert.ok(!('n2' in status.failed));
  for (const error of Object.values(status.failed)) assert.match(error as string, /local-only/);
  await weftOk(['undeploy', 'local-only', '--url', url('n1')]);
});

test('kill -9 of a node holding a replica: it is placed again within seconds', async () => {
  const app = await writeSumApp(join(dir, 'gamma'), 'gamma');
  await weftOk(['deploy', app, '--replicas', '2', '--url', url('n1')]);
  const before = await waitFor('gamma ready', async () => {
    const s = await appStatus('n1', 'gamma');
    return readyOn(s).length === 2 ? s : undefined;
  });
  const scheduler = (await fetchJson(`${url('n1')}/admin/fleet/nodes`)).body.scheduler;
  const victim = readyOn(before).find((n) => n !== scheduler)!;
  const watcher = ['n1', 'n2', 'n3', 'n4'].find((n) => n !== victim && n !== scheduler)!;
  const killedAt = Date.now();
  await nodes.get(victim)!.proc.stop('SIGKILL');
  const after = await waitFor('gamma re-placed', async () => {
    const s = await appStatus(watcher, 'gamma');
    const ready = readyOn(s);
    return ready.length === 2 && !ready.includes(victim) ? s : undefined;
  });
  const seconds = (Date.now() - killedAt) / 1000;
  assert.ok(seconds < 20, `re-placed after ${seconds} s`);
  assert.ok(!after.placed.some((r: any) => r.node === victim));
  const listed = (await fetchJson(`${url(watcher)}/admin/fleet/nodes`)).body.nodes.map((n: any) => n.record.node);
  assert.ok(!listed.includes(victim), `${victim} still listed`);
  nodes.delete(victim);
});

test('kill -9 of the scheduler node: another node takes the lease and placements continue', async () => {
  const live = [...nodes.keys()];
  const holder = (await fetchJson(`${url(live[0]!)}/admin/fleet/nodes`)).body.scheduler as string;
  assert.ok(live.includes(holder));
  const killedAt = Date.now();
  await nodes.get(holder)!.proc.stop('SIGKILL');
  nodes.delete(holder);
  const rest = [...nodes.keys()];
  const next = await waitFor('a new scheduler', async () => {
    const s = (await fetchJson(`${url(rest[0]!)}/admin/fleet/nodes`)).body.scheduler;
    return s !== undefined && s !== holder ? s : undefined;
  });
  assert.ok(rest.includes(next));
  assert.ok((Date.now() - killedAt) / 1000 < 20);
  const app = await writeSumApp(join(dir, 'delta'), 'delta');
  await weftOk(['deploy', app, '--replicas', '2', '--url', url(rest[1]!)]);
  const s = await waitFor('delta ready after the takeover', async () => {
    const st = await appStatus(rest[0]!, 'delta');
    return readyOn(st).length === 2 ? st : undefined;
  });
  assert.deepEqual(readyOn(s), rest.sort());
  // gamma lost a replica with the scheduler's node, or kept both: either way it is whole again.
  await waitFor('gamma whole again', async () => (readyOn(await appStatus(rest[0]!, 'gamma')).length === 2 ? true : undefined));
});

test('a nats-server of the cluster killed: the fleet keeps working', async () => {
  await cluster.servers[0]!.kill();
  const rest = [...nodes.keys()];
  const app = await writeSumApp(join(dir, 'epsilon'), 'epsilon');
  const deployed = await waitFor('a deploy through the surviving servers', async () => {
    const r = await postJson(`${url(rest[0]!)}/admin/fleet/apps`, { ref: app, replicas: 1 });
    return r.status === 201 || r.status === 200 ? r : undefined;
  });
  assert.ok(deployed);
  await waitFor('epsilon ready', async () => (readyOn(await appStatus(rest[1]!, 'epsilon')).length === 1 ? true : undefined)).catch(async (err: Error) => {
    // Each node's view and its own fleet log lines: which watch or placement did not move.
    const views = await Promise.all(rest.map(async (n) => `${n}: ${JSON.stringify(await appStatus(n, 'epsilon').catch(() => 'unreachable'))}\n${nodes.get(n)!.proc.logs().split('\n').filter((l) => l.includes('fleet')).slice(-15).join('\n')}`));
    throw new Error(`${err.message}\n${views.join('\n')}`);
  });
  // Heartbeats still flow: every live node stays listed over several intervals.
  await sleep(4000);
  const listed = (await fetchJson(`${url(rest[1]!)}/admin/fleet/nodes`)).body.nodes.map((n: any) => n.record.node).sort();
  assert.deepEqual(listed, rest.sort());
  await cluster.servers[0]!.restart();
});

test('an unsigned bundle is refused by a node that requires signatures', async () => {
  const strict = await startNode('strict', 'east', []);
  const app = await writeSumApp(join(dir, 'unsigned'), 'unsigned');
  const r = await postJson(`${strict.url}/admin/fleet/apps`, { ref: app });
  assert.equal(r.status, 422);
  assert.equal(r.body.code, 'SIGNATURE_INVALID');
  assert.match(r.body.error, /carries no signature/);
  assert.equal((await fetchJson(`${strict.url}/admin/fleet/apps/unsigned`)).status, 404);
  assert.equal(await strict.stop(), 0);
  nodes.delete('strict');
});
