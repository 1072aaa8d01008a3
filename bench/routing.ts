// Fleet routing, side by side in one run on loopback (a nats-server and several `weft` nodes):
//   1. forwarding overhead: the same KServe JSON load straight to the node holding a small model,
//      and through a router node that holds none of it (one NATS request-reply hop); then the same
//      pairs with the replica's CPU capped (a cgroup quota of --replica-cpu cores; needs root), so
//      that the replica bounds the throughput, as one on a machine of its own would, and not the
//      cores it shares with the router, the nats-server and the load generator;
//   2. one slow replica of three (its batcher waits --max-queue-delay to fill every batch): p99 of
//      the router's score against round-robin straight to the replicas (what a plain balancer
//      does, no hop at all), against the router with every weight 0 (a random replica) and with
//      a latency weight ten times lighter than the default;
//   3. routing decisions per second of the router alone (ReplicaChooser.choose: two replicas drawn
//      from its index by target, the lower score wins) over 3, 100, 1,000 and 10,000 synthetic nodes.
//
//   node --import tsx bench/routing.ts [--measure 8] [--warmup 2] [--slow-delay 40ms] [--replica-cpu 0.5]
// Results: bench/ROUTING.md.

import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { FleetRouter, type NodeRecord, type RouteWeights } from '../src/fleet/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { writeSumApp } from '../test/kit/apps.js';
import { startNatsCluster } from '../test/kit/nats.js';
import { startWeft, fetchJson, type WeftProcess } from '../test/kit/weft-process.js';
import { waitFor } from '../test/kit/wait.js';
import { cpuCapUnavailable, createCpuCap } from './cpu-cap.js';
import { describeMachine } from './machine.js';
import { closedLoop, type Call, type StepResult } from './measure.js';

const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
const DEFAULT_WEIGHTS: RouteWeights = { queue: 1, latency: 1, site: 8, energy: 1 };

/** KServe JSON to one of `urls` in turn; counts which node answered (x-weft-node). */
function infer(urls: string[], agent: http.Agent, servedBy: Map<string, number>): Call {
  let next = 0;
  return () =>
    new Promise((resolve, reject) => {
      const target = new URL('/v2/models/m/infer', urls[next++ % urls.length]);
      const r = http.request(target, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(BODY)) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).subarray(0, 200).toString()}`));
          const node = String(res.headers['x-weft-node']);
          servedBy.set(node, (servedBy.get(node) ?? 0) + 1);
          resolve(undefined);
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(BODY);
    });
}

interface Row {
  variant: string;
  concurrency: number;
  result: StepResult;
  servedBy: Map<string, number>;
}

/** With `serverPid`, the window's CPU time of that process is counted per request (Linux). */
async function measure(variant: string, urls: string[], concurrency: number, loop: { warmupMs: number; measureMs: number; serverPid?: number }): Promise<Row> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * urls.length });
  const servedBy = new Map<string, number>();
  try {
    return { variant, concurrency, result: await closedLoop(infer(urls, agent, servedBy), { concurrency, ...loop }), servedBy };
  } finally {
    agent.destroy();
  }
}

const ms = (v: number | null) => (v === null ? '–' : v.toFixed(2));
const shares = (m: Map<string, number>) => {
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  return [...m].sort(([a], [b]) => a.localeCompare(b)).map(([n, c]) => `${n} ${((100 * c) / total).toFixed(0)}%`).join(', ');
};

/** A fleet of `n` synthetic records, every one serving `m`, with varied load. */
function syntheticFleet(n: number): Map<string, NodeRecord> {
  const nodes = new Map<string, NodeRecord>();
  for (let i = 0; i < n; i++) {
    const node = `n${i}`;
    nodes.set(node, {
      v: 1, node, site: `s${i % 4}`, labels: {}, url: 'http://127.0.0.1:1', version: '0', at: Date.now(), draining: false,
      cpu: { cores: 8, model: 'x' }, memory: { totalBytes: 2 ** 34 }, gpus: [], budget: { cpu: 2 ** 33, cuda: 0 }, free: { cpu: 2 ** 32, cuda: 0 }, localBytes: 0,
      power: { watts: 40, source: 'estimate', measured: false }, models: ['other', 'm'], apps: [], bundles: [],
      load: [{ model: 'm', queued: i % 7, inflight: i % 3, p50Ms: 1 + (i % 11), p99Ms: 20, rate: 10, joulesPerRequest: 0.01 * (i % 5) }],
      replicas: [],
    });
  }
  return nodes;
}

async function decisionsPerSecond(natsUrl: string): Promise<Array<[number, number]>> {
  const nc = await connect({ servers: natsUrl });
  const out: Array<[number, number]> = [];
  try {
    for (const n of [3, 100, 1000, 10_000]) {
      const fleet = syntheticFleet(n);
      const router = new FleetRouter({
        nc, node: 'router', site: 's0', nodes: () => fleet, local: () => false, handler: () => new Response(null),
        weights: DEFAULT_WEIGHTS, spillQueue: 8, idleTimeoutMs: 3000, requestTimeoutMs: 60_000, callerHeader: 'x-weft-caller', version: '0.0.0', log: createLogger('error'),
      });
      const target = { kind: 'model' as const, name: 'm' };
      let decisions = 0;
      let picked = 0;
      const until = performance.now() + 1000;
      const started = performance.now();
      while (performance.now() < until) {
        for (let i = 0; i < 100; i++) if (router.replicas.choose(target) !== undefined) picked++;
        decisions += 100;
      }
      if (picked !== decisions) throw new Error(`${decisions - picked} decisions picked nothing`);
      out.push([n, decisions / ((performance.now() - started) / 1000)]);
    }
  } finally {
    await nc.close();
  }
  return out;
}

const us = (v: number | undefined) => (v === undefined ? '–' : (v * 1000).toFixed(0));
const elsewhere = (r: StepResult) => (r.reqPerSec > 0 ? us((1000 * r.otherCores) / r.reqPerSec) : '–');

/** Rows in pairs, straight then routed at the same C: the routed row's ratio and latency added. */
function printPairs(rows: Row[]): void {
  console.log('| C | variant | req/s | p50 ms | p99 ms | errors | × straight | p50 added ms | p99 added ms | replica CPU µs/req | rest CPU µs/req |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (let i = 0; i < rows.length; i += 2) {
    const [straight, routed] = [rows[i]!, rows[i + 1]!];
    for (const row of [straight, routed]) {
      const r = row.result;
      const added = row === routed ? [ms((r.p50Ms ?? 0) - (straight.result.p50Ms ?? 0)), ms((r.p99Ms ?? 0) - (straight.result.p99Ms ?? 0))] : ['–', '–'];
      console.log(`| ${row.concurrency} | ${row.variant} | ${r.reqPerSec.toFixed(0)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.errors} | ${(r.reqPerSec / straight.result.reqPerSec).toFixed(2)}× | ${added[0]} | ${added[1]} | ${us(r.serverCpuMsPerReq)} | ${elsewhere(r)} |`);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { measure: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' }, 'slow-delay': { type: 'string', default: '40ms' }, 'replica-cpu': { type: 'string', default: '0.5' } } });
  const replicaCores = Number(values['replica-cpu']);
  const noCap = cpuCapUnavailable();
  const loop = { warmupMs: Number(values.warmup) * 1000, measureMs: Number(values.measure) * 1000 };
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-routing-'));
  const sum = join(await writeSumApp(join(dir, 'sum'), 'sum'), 'models', 'sum.onnx');
  const cluster = await startNatsCluster(1);
  const nodes: WeftProcess[] = [];
  const start = async (name: string, models: string[], extra: string[] = []) => {
    const p = await startWeft(['--fleet', cluster.urls, '--node-name', name, '--site', 'east', '--heartbeat-interval', '1s', '--load', 'eager', ...models.flatMap((m) => ['--model', m]), ...extra], { WEFT_DATA_DIR: join(dir, name) });
    nodes.push(p);
    return p;
  };
  /** Waits until `router` sees `count` replicas of `m`. */
  const sees = (router: WeftProcess, count: number) =>
    waitFor(`the router sees ${count} replicas`, async () => {
      const r = await fetchJson(`${router.url}/admin/fleet/nodes`);
      return (r.body.nodes ?? []).filter((n: { record: NodeRecord }) => n.record.models.includes('m')).length === count ? true : undefined;
    }, 60_000);
  const overhead: Row[] = [];
  const capped: Row[] = [];
  const slow: Row[] = [];
  try {
    // Every node holds a model of its own, so none serves the embedded example apps instead.
    const router = await start('router', [`own=${sum}`]);
    const b = await start('b', [`m=${sum}`]);
    await sees(router, 1);
    for (const c of [1, 8]) {
      overhead.push(await measure('straight to the replica', [b.url], c, { ...loop, serverPid: b.proc.pid }));
      overhead.push(await measure('through a router node', [router.url], c, { ...loop, serverPid: b.proc.pid }));
    }
    if (noCap === undefined) {
      const cap = createCpuCap('replica', replicaCores);
      cap.add(b.proc.pid!);
      try {
        for (const c of [8, 16]) {
          capped.push(await measure('straight to the replica', [b.url], c, { ...loop, serverPid: b.proc.pid }));
          capped.push(await measure('through a router node', [router.url], c, { ...loop, serverPid: b.proc.pid }));
        }
      } finally {
        cap.remove();
      }
    }
    const c = await start('c', [`m=${sum}`]);
    const d = await start('d-slow', [`m=${sum}`], ['--max-queue-delay', values['slow-delay']!]);
    const random = await start('router-random', [`own=${sum}`], ['--route-weight-queue', '0', '--route-weight-latency', '0', '--route-weight-site', '0', '--route-weight-energy', '0']);
    const lightLatency = await start('router-light', [`own=${sum}`], ['--route-weight-latency', '0.1']);
    await Promise.all([sees(router, 3), sees(random, 3), sees(lightLatency, 3)]);
    // Let every replica report its latency in a heartbeat or two under some load first.
    await measure('warm-up', [b.url, c.url, d.url], 2, { warmupMs: 0, measureMs: 3000 });
    slow.push(await measure('round-robin straight to the replicas', [b.url, c.url, d.url], 6, loop));
    slow.push(await measure('router, every weight 0 (random)', [random.url], 6, loop));
    slow.push(await measure('router, score (default weights)', [router.url], 6, loop));
    slow.push(await measure('router, score with --route-weight-latency 0.1', [lightLatency.url], 6, loop));
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
  }
  const decisions = await decisionsPerSecond(cluster.urls);
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });

  const machine = describeMachine();
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
  console.log(`Window: ${values.warmup} s warm-up, ${values.measure} s measured per row; KServe JSON, model: a 16-float sum (test/kit/apps.ts)\n`);
  console.log('Forwarding overhead\n');
  // CPU per request: the replica's node process, and the rest of the machine (the router node and
  // the nats-server when routed) besides this load generator.
  printPairs(overhead);
  if (noCap === undefined) {
    console.log(`\nThe replica's CPU capped at ${replicaCores} cores (a cgroup quota): the replica bounds the throughput, as on a machine of its own\n`);
    printPairs(capped);
  } else {
    console.log(`\nThe capped replica's rows were skipped: ${noCap}`);
  }
  console.log(`\nOne slow replica of three (d-slow: --max-queue-delay ${values['slow-delay']}), C = 6\n`);
  console.log('| variant | req/s | p50 ms | p99 ms | errors | served by |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of slow) {
    const r = row.result;
    console.log(`| ${row.variant} | ${r.reqPerSec.toFixed(0)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.errors} | ${shares(row.servedBy)} |`);
  }
  console.log('\nRouting decisions of the router alone (FleetRouter.replicas.choose, one core)\n');
  console.log('| nodes serving the model | decisions/s |');
  console.log('| --- | --- |');
  for (const [n, rate] of decisions) console.log(`| ${n} | ${Math.round(rate).toLocaleString('en')} |`);
}

await main();
