// `--power-policy pack` consolidating, end to end: a nats-server and three `weft` nodes with no
// models of their own. App `a` prefers site east and lands on p1, app `b` prefers west and lands
// on p2; pack then moves `a` onto p2 (a preferred site is a wish, not a constraint), make before
// break, so p1 serves nothing and can sleep — while a steady load on `a` through p3 sees only 200s.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsCluster, type NatsCluster } from './kit/nats.js';
import { waitFor } from './kit/wait.js';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { weftOk } from './kit/weft-cli.js';
import { writeSumApp } from './kit/apps.js';

let cluster: NatsCluster | undefined;
let dir: string;
const nodes = new Map<string, WeftProcess>();
const url = (name: string) => nodes.get(name)!.url;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-fleet-pack-'));
  // An empty model repository: no embedded default, nothing of the node's own keeps it awake.
  await mkdir(join(dir, 'empty'));
  cluster = await startNatsCluster(1);
  const start = async (name: string, site: string) =>
    nodes.set(name, await startWeft(['--fleet', cluster!.urls, '--node-name', name, '--site', site, '--heartbeat-interval', '1s', '--power-policy', 'pack', '--models', join(dir, 'empty'), '--memory-budget', '100KB', '--allow-unsigned'], { WEFT_DATA_DIR: join(dir, name) }));
  await Promise.all([start('p1', 'east'), start('p2', 'west'), start('p3', 'north')]);
  await waitFor('three nodes', async () => ((await fetchJson(`${url('p3')}/admin/fleet/nodes`)).body.nodes?.length === 3 ? true : undefined), 60_000);
});

after(async () => {
  await Promise.all([...nodes.values()].map((p) => p.stop('SIGKILL')));
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

const placedOn = async (app: string) => {
  const r = await fetchJson(`${url('p3')}/admin/fleet/apps/${app}`);
  return r.status === 200 ? (r.body.app.placed as Array<{ node: string; state: string; leaving?: boolean }>) : [];
};

test('pack moves a replica off a node it can empty, make before break, and the node goes idle', async () => {
  await weftOk(['deploy', await writeSumApp(join(dir, 'a'), 'a'), '--prefer-site', 'east', '--url', url('p3')]);
  await waitFor('a ready on p1', async () => ((await placedOn('a')).some((r) => r.node === 'p1' && r.state === 'ready') ? true : undefined), 60_000);
  // A steady load on a, through p3 (which holds nothing: every request is forwarded).
  let stop = false;
  const statuses: number[] = [];
  const failures: string[] = [];
  const load = (async () => {
    while (!stop) {
      const r = await postJson(`${url('p3')}/v2/models/a-sum/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
      statuses.push(r.status);
      if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
    }
  })();
  await weftOk(['deploy', await writeSumApp(join(dir, 'b'), 'b', { seed: 2 }), '--prefer-site', 'west', '--url', url('p3')]);
  // b lands on p2; then a follows it there and p1 is emptied.
  const moved = await waitFor('a served from p2 alone', async () => {
    const a = await placedOn('a');
    return a.length === 1 && a[0]!.node === 'p2' && a[0]!.state === 'ready' ? a : undefined;
  }, 60_000);
  assert.equal(moved[0]!.leaving, undefined);
  assert.deepEqual((await placedOn('b')).map((r) => r.node), ['p2']);
  await waitFor('p1 unloaded a', async () => ((await fetchJson(`${url('p1')}/admin/apps`)).body.apps.every((x: any) => x.name !== 'a') ? true : undefined), 30_000);
  const nodesAnswer = await waitFor('p1 idle', async () => {
    const r = (await fetchJson(`${url('p3')}/admin/fleet/nodes`)).body;
    return r.nodes.find((n: any) => n.record.node === 'p1')?.idle === true ? r : undefined;
  }, 30_000);
  assert.equal(nodesAnswer.nodes.find((n: any) => n.record.node === 'p2').idle, false);
  stop = true;
  await load;
  assert.ok(statuses.length > 10, `the load ran (${statuses.length} requests)`);
  assert.deepEqual(failures, [], `no request of ${statuses.length} failed while a moved`);
  assert.match(await weftOk(['nodes', '--url', url('p2')]), /policy pack/);
});
