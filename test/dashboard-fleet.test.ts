// End to end: the dashboard's Fleet view on a real fleet — a nats-server with JetStream and two
// `weft` nodes on different sites joined to it with --fleet, one app deployed with `weft deploy`
// for three replicas: one on each site and one the scheduler cannot place. Driven in Debian's chromium through
// playwright-core: the view lists both nodes by site, the replicas where they run, the pending
// app with the scheduler's reason, and the figures GET /admin/fleet/nodes gives at that moment.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startNatsCluster, type NatsCluster } from './kit/nats.js';
import { waitFor } from './kit/wait.js';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { weftOk } from './kit/weft-cli.js';
import { writeSumApp } from './kit/apps.js';

const CHROMIUM = '/usr/bin/chromium';
const IMG = fileURLToPath(new URL('../docs/img/', import.meta.url));
const VIEWPORT = { width: 1440, height: 900 };
/** Slower than the page's once a second, so a heartbeat holds still while both are read. */
const HEARTBEAT = '3s';

let cluster: NatsCluster;
let dir: string;
let browser: Browser;
const nodes = new Map<string, WeftProcess>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-dashboard-fleet-'));
  const base = join(await writeSumApp(join(dir, 'base'), 'base'), 'models', 'sum.onnx');
  cluster = await startNatsCluster(1);
  const start = async (name: string, site: string) => {
    const proc = await startWeft(
      ['--fleet', cluster.urls, '--node-name', name, '--site', site, '--label', 'role=worker', '--heartbeat-interval', HEARTBEAT, '--fleet-replicas', '1', '--model', `base=${base}`, '--memory-budget', '1000B', '--allow-unsigned', '--energy', 'estimate'],
      { WEFT_DATA_DIR: join(dir, name) },
    );
    nodes.set(name, proc);
  };
  await Promise.all([start('edge-a1', 'factory-a'), start('edge-b1', 'factory-b')]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  await mkdir(IMG, { recursive: true });
});

after(async () => {
  await browser?.close();
  await Promise.all([...nodes.values()].map((p) => p.stop('SIGKILL')));
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the Fleet view lists both nodes by site, the replicas where they run, a pending app with its reason, and the figures /admin/fleet/nodes gives', async () => {
  const url = nodes.get('edge-a1')!.url;
  await waitFor('two nodes and a scheduler', async () => {
    const r = await fetchJson(`${url}/admin/fleet/nodes`);
    return r.body.nodes?.length === 2 && r.body.scheduler ? true : undefined;
  }, 60_000);
  // Three replicas wanted, two nodes to hold them (replicas of one app go on distinct nodes): one
  // on each site, and one the scheduler cannot place.
  const sum = await writeSumApp(join(dir, 'sum'), 'sum');
  assert.match(await weftOk(['deploy', sum, '--replicas', '3', '--url', url]), /^deployed: sum/);
  const app = await waitFor('sum ready on both nodes, its third replica pending with a reason', async () => {
    const r = await fetchJson(`${url}/admin/fleet/apps`);
    const s = r.body.apps.find((a: any) => a.name === 'sum');
    if (s?.placed.filter((p: any) => p.state === 'ready').length === 2 && s.pending && s.pending !== 'waiting for the scheduler') return s;
    throw new Error(`last seen: ${JSON.stringify(s)}`);
  }, 60_000);

  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/dashboard#fleet`);
  await page.waitForSelector('#live.on', { timeout: 30_000 });
  await page.waitForSelector('tr[data-node]', { timeout: 30_000 });

  // Nodes by site, as the fleet sees them.
  assert.deepEqual(await page.locator('[data-site]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.site)), ['factory-a', 'factory-b']);
  assert.equal(await page.locator('[data-site="factory-a"] tr[data-node="edge-a1"]').count(), 1);
  assert.equal(await page.locator('[data-site="factory-b"] tr[data-node="edge-b1"]').count(), 1);

  // Each node's figures equal what GET /admin/fleet/nodes answers for the same heartbeat: read the
  // API, then the page, until the page shows the very records the API gave.
  const matched = await waitFor('the page showing the heartbeats the API gives', async () => {
    const answer = (await fetchJson(`${url}/admin/fleet/nodes`)).body;
    // No named functions inside: the page runs this as sent, without tsx's helpers.
    const shown = await page.locator('tr[data-node]').evaluateAll((rows) =>
      rows.map((r) => {
        const el = r as HTMLElement;
        const figures = Object.fromEntries(['queued', 'inflight', 'watts', 'measured', 'replicas'].map((k) => [k, el.querySelector(`[data-figure="${k}"]`)?.getAttribute('data-value') ?? null]));
        return { id: el.dataset.node, at: Number(el.dataset.at), text: el.innerText, ...figures } as { id: string; at: number; text: string } & Record<'queued' | 'inflight' | 'watts' | 'measured' | 'replicas', string | null>;
      }),
    );
    const same = answer.nodes.every((n: any) => shown.find((s) => s.id === n.record.node)?.at === n.record.at);
    return same && shown.length === answer.nodes.length ? { answer, shown } : undefined;
  });
  for (const n of matched.answer.nodes) {
    const r = n.record;
    const row = matched.shown.find((s) => s.id === r.node)!;
    const sum = (key: 'queued' | 'inflight') => r.load.reduce((t: number, l: any) => t + l[key], 0);
    assert.equal(Number(row.queued), sum('queued'), `${r.node} queued`);
    assert.equal(Number(row.inflight), sum('inflight'), `${r.node} in flight`);
    assert.equal(Number(row.watts), r.power.watts, `${r.node} watts`);
    assert.equal(row.measured, String(r.power.measured), `${r.node} measured`);
    assert.match(row.text, new RegExp(r.power.measured ? 'measured' : 'estimated'));
    assert.match(row.text, new RegExp(`${r.power.watts.toFixed(1)} W`));
    assert.equal(Number(row.replicas), n.replicas, `${r.node} replicas`);
    assert.equal(n.replicas, 1, 'one replica of sum on each site');
    assert.ok(row.text.includes(r.url), `${row.text} shows ${r.url}`);
    assert.equal(row.text.includes('scheduler'), n.scheduler);
  }
  assert.ok(matched.answer.nodes.every((n: any) => n.record.power.watts > 0), 'the estimator gives each node some watts');

  // Replicas where they run, and the app no node fits, with the scheduler's reason.
  const where = await page.locator('tr[data-app="sum"][data-replica]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.replica).sort());
  assert.deepEqual(where, app.placed.map((p: any) => p.node).sort());
  assert.deepEqual(where, ['edge-a1', 'edge-b1']);
  const pendingText = await page.locator('tr[data-app="sum"][data-pending]').innerText();
  assert.ok(pendingText.includes(app.pending), `${pendingText} vs ${app.pending}`);
  assert.match(pendingText, /2\/3 replicas placed/);

  // The snapshot the page draws is null-free here: the node is in a fleet.
  const snapshot = await fetchJson(`${url}/admin/dashboard`);
  assert.deepEqual(snapshot.body.fleet.nodes.map((n: any) => n.site).sort(), ['factory-a', 'factory-b']);
  await page.screenshot({ path: `${IMG}dashboard-fleet.png` });
  assert.deepEqual(errors, []);
  await context.close();
});
