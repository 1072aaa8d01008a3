// Placement benchmark: the scheduler's pure placement function (src/fleet/placement.ts) against
// a simulated fleet of 10,000 nodes and 1,000 apps — time to place every replica, time to place
// again after 5% of the nodes die, `pack` against `spread` power over a day-long load curve (pack
// with and without consolidating moves), and consolidation after half the apps are undeployed.
// Usage: node --import tsx bench/placement.ts [NODES] [APPS]    (results: bench/PLACEMENT.md)

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { place, type AppInput, type NodeView, type Placement, type PowerPolicy } from '../src/fleet/index.js';
import type { AppSpec } from '../src/fleet/index.js';

const NODES = Number(process.argv[2] ?? 10_000);
const APPS = Number(process.argv[3] ?? 1_000);
const GIB = 1024 ** 3;

/** Deterministic: the same fleet every run (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

function makeNodes(n: number): NodeView[] {
  return Array.from({ length: n }, (_, i) => {
    const gpus = random() < 0.2 ? pick([1, 2, 4, 8]) : 0;
    const cpu = pick([16, 32, 64, 128]) * GIB;
    return {
      node: `node-${i}`,
      site: `site-${i % 20}`,
      labels: { role: gpus > 0 ? 'gpu' : pick(['edge', 'general', 'general']), zone: `z${i % 3}` },
      gpus,
      budget: { cpu, cuda: gpus * 80 * GIB },
      localBytes: 0,
      bundles: new Set<string>(),
      draining: false,
    };
  });
}

function makeApps(n: number): AppSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const gpu = random() < 0.1;
    const max = 1 + Math.floor(random() * 5);
    return {
      v: 1,
      name: `app-${i}`,
      ref: `registry.local/app-${i}:1`,
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      memoryBytes: Math.round((0.5 + random() * (gpu ? 30 : 12)) * GIB),
      models: [`app-${i}-model`],
      replicas: { min: 1, max },
      require: gpu ? ['gpu'] : [],
      select: (!gpu && random() < 0.1 ? { role: 'edge' } : {}) as Record<string, string>,
      ...(random() < 0.2 ? { spread: 'site' as const } : {}),
      createdAt: 0,
    } satisfies AppSpec;
  });
}

function inputs(specs: AppSpec[], current: Map<string, Placement> | undefined, target: (s: AppSpec) => number): AppInput[] {
  return specs.map((spec) => ({ spec, current: current?.get(spec.name), target: target(spec) }));
}

function count(placements: Map<string, Placement>): { placed: number; pending: number } {
  let placed = 0;
  let pending = 0;
  for (const p of placements.values()) {
    const staying = p.assigned.filter((a) => a.leaving !== true).length;
    placed += staying;
    pending += p.target - staying;
  }
  return { placed, pending };
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

const nodes = makeNodes(NODES);
const specs = makeApps(APPS);
const wanted = specs.reduce((n, s) => n + s.replicas.max, 0);

// Warm the JIT once on a small fleet so the figures are steady state, as in a long-lived scheduler.
place({ nodes: nodes.slice(0, 500), apps: inputs(specs.slice(0, 100), undefined, (s) => s.replicas.max), policy: 'spread', now: 0 });

const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  process.stdout.write(`${s}\n`);
};
// How busy the machine was: a fixed loop's time next to the figures (about 0.1 s on an idle core).
const calibration = timed(() => {
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i % 7;
  return x;
});
say(`CPU: ${os.cpus()[0]?.model.trim()} (${os.cpus().length} logical), Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; 1e8-step calibration loop ${calibration.ms.toFixed(0)} ms`);
say(`fleet: ${NODES} nodes (20 sites, 20% with 1-8 GPUs), ${APPS} apps, ${wanted} replicas wanted`);

for (const policy of ['spread', 'pack'] as const) {
  const first = timed(() => place({ nodes, apps: inputs(specs, undefined, (s) => s.replicas.max), policy, now: 1 }));
  const c = count(first.value.placements);
  say(`${policy}: placed ${c.placed} replicas (${c.pending} pending) in ${first.ms.toFixed(0)} ms; ${first.value.idle.length} nodes idle`);
  // 5% of the nodes die; the survivors keep their replicas, the lost ones are placed again.
  const dead = new Set(nodes.filter(() => random() < 0.05).map((n) => n.node));
  const survivors = nodes.filter((n) => !dead.has(n.node));
  let lost = 0;
  for (const p of first.value.placements.values()) lost += p.assigned.filter((a) => dead.has(a.node)).length;
  const again = timed(() => place({ nodes: survivors, apps: inputs(specs, first.value.placements, (s) => s.replicas.max), policy, now: 2 }));
  const c2 = count(again.value.placements);
  say(`${policy}: ${dead.size} nodes died holding ${lost} replicas; placed again in ${again.ms.toFixed(0)} ms (${c2.placed} placed, ${c2.pending} pending)`);
}

/**
 * Runs placement passes, each on the last one's placements, until one marks no replica leaving
 * (consolidation has settled) or `maxPasses` ran, as the live scheduler's passes do.
 */
function settle(pass: (current: Map<string, Placement> | undefined) => ReturnType<typeof place>, start: Map<string, Placement> | undefined, maxPasses: number) {
  let placements = start;
  let passes = 0;
  let moved = 0;
  let ms = 0;
  for (let k = 0; k < maxPasses; k++) {
    const r = timed(() => pass(placements));
    ms += r.ms;
    passes++;
    const leaving = [...r.value.placements.values()].reduce((n, p) => n + p.assigned.filter((a) => a.leaving === true).length, 0);
    moved += leaving;
    placements = r.value.placements;
    if (leaving === 0 && k > 0) break;
  }
  return { placements: placements!, passes, moved, ms };
}

// A day of load: each hour every app wants a share of its --max replicas (at least its --min).
// The scheduler keeps what is placed and adds or trims replicas, as it does live.
/** Passes at most per simulated hour (the live scheduler runs one per heartbeat, 1,800 an hour at 2 s). */
const PASSES_PER_HOUR = 200;
const POWER = { idleWatts: 120, gpuIdleWatts: 60, replicaWatts: 15, sleepWatts: 5 };
const curve = Array.from({ length: 24 }, (_, h) => 0.2 + 0.8 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI)) ** 1.5);
say(`power model: an awake node draws ${POWER.idleWatts} W idle + ${POWER.gpuIdleWatts} W per GPU + ${POWER.replicaWatts} W per replica; an idle node asleep draws ${POWER.sleepWatts} W (estimated, not measured)`);
say(`load curve (share of --max wanted, hour 0-23): ${curve.map((x) => x.toFixed(2)).join(' ')}`);
const runs: Array<{ label: string; policy: PowerPolicy; maxMoves?: number }> = [{ label: 'spread', policy: 'spread' }, { label: 'pack', policy: 'pack' }, { label: 'pack without moves', policy: 'pack', maxMoves: 0 }];
for (const { label, policy, maxMoves } of runs) {
  let current: Map<string, Placement> | undefined;
  const awakeByHour: number[] = [];
  let nodeHours = 0;
  let wattHours = 0;
  let ms = 0;
  let passes = 0;
  let moves = 0;
  for (const load of curve) {
    // The live scheduler runs a pass every heartbeat: within the hour, `pack` consolidates move
    // by move (a replica marked leaving goes on the next pass, as if its successor were ready).
    const settled = settle((p) => place({ nodes, apps: inputs(specs, p, (s) => Math.max(s.replicas.min, Math.ceil(s.replicas.max * load))), policy, now: 3, ...(maxMoves === undefined ? {} : { maxMoves }) }), current, PASSES_PER_HOUR);
    ({ placements: current } = settled);
    ms += settled.ms;
    passes += settled.passes;
    moves += settled.moved;
    const replicas = new Map<string, number>();
    for (const p of current!.values()) for (const a of p.assigned) replicas.set(a.node, (replicas.get(a.node) ?? 0) + 1);
    let awake = 0;
    for (const n of nodes) {
      const k = replicas.get(n.node) ?? 0;
      if (k === 0) {
        wattHours += POWER.sleepWatts;
        continue;
      }
      awake++;
      wattHours += POWER.idleWatts + n.gpus * POWER.gpuIdleWatts + k * POWER.replicaWatts;
    }
    nodeHours += awake;
    awakeByHour.push(awake);
  }
  say(`${label} over the day: ${nodeHours} node-hours awake, ${(wattHours / 1000).toFixed(0)} kWh (${passes} placement passes, ${(ms / passes).toFixed(0)} ms each on average; ${moves} replicas moved to consolidate)`);
  say(`${label}: nodes awake per hour ${awakeByHour.join(' ')}`);
}

// Fragmentation, what consolidation is for: pack places every app at --max, then every other
// app is undeployed. What stays is scattered over the nodes that held both; moves gather it.
for (const maxMoves of [0, 8]) {
  const full = place({ nodes, apps: inputs(specs, undefined, (s) => s.replicas.max), policy: 'pack', now: 1, maxMoves: 0 }).placements;
  const kept = specs.filter((_, i) => i % 2 === 0);
  const awake = (p: Map<string, Placement>) => new Set([...p.values()].flatMap((x) => x.assigned.map((a) => a.node))).size;
  let current = place({ nodes, apps: inputs(kept, full, (s) => s.replicas.max), policy: 'pack', now: 2, maxMoves: 0 }).placements;
  const before = awake(current);
  const settled = settle((p) => place({ nodes, apps: inputs(kept, p, (s) => s.replicas.max), policy: 'pack', now: 3, maxMoves }), current, 5000);
  current = settled.placements;
  const { passes, moved, ms } = settled;
  say(`pack after undeploying half the apps, ${maxMoves === 0 ? 'no moves' : `up to ${maxMoves} nodes emptied per pass`}: ${before} → ${awake(current)} nodes awake after ${passes} passes, ${(ms / passes).toFixed(0)} ms each (${moved} replicas moved)`);
}
