// Placement, a pure function: the live nodes, the desired apps and the current placements in,
// the next placements out — with, for every replica not placed, the reason in words. The
// scheduler runs it on the lease holder; bench/placement.ts runs it against simulated fleets.

import type { AppSpec, Assignment, Placement } from './messages.js';
import { FLEET_VERSION } from './namespace.js';
import { formatBytes } from '../config/index.js';

export const PowerPolicies = ['spread', 'pack'] as const;
export type PowerPolicy = (typeof PowerPolicies)[number];

/** What placement needs to know of one live node. */
export interface NodeView {
  node: string;
  site: string;
  labels: Readonly<Record<string, string>>;
  gpus: number;
  /** Model memory budget per device, bytes. */
  budget: { cpu: number; cuda: number };
  /** Bytes held by models the fleet did not place. */
  localBytes: number;
  /** Bundle digests the node holds in its store. */
  bundles: ReadonlySet<string>;
  draining: boolean;
  /** Draws its power budget (--power-budget) or more: it keeps its replicas but takes no new one. */
  atPowerBudget?: boolean;
  /** Apps whose replica here is ready; unknown (undefined): every replica assigned here counts as ready. */
  ready?: ReadonlySet<string>;
}

export interface AppInput {
  spec: AppSpec;
  current: Placement | undefined;
  /** Replicas wanted now (the autoscaler's target, within min..max). */
  target: number;
}

export interface PlacementInput {
  nodes: readonly NodeView[];
  apps: readonly AppInput[];
  policy: PowerPolicy;
  now: number;
  /** Under `pack`, the share of a node's budget kept free when choosing an awake node (0.1). */
  headroom?: number;
  /** Feasible nodes after which one replica set's scan stops (256; 0 scans every node). */
  scoreLimit?: number;
  /** Under `pack`, nodes at most emptied per pass by moving their replicas to awake nodes (8; 0: never). */
  maxMoves?: number;
}

export interface PlacementOutput {
  placements: Map<string, Placement>;
  /** Nodes serving no replica (under `pack`, the ones that can sleep). */
  idle: string[];
}

function deviceOf(spec: AppSpec): 'cpu' | 'cuda' {
  return spec.gpu !== undefined || spec.require.includes('gpu') ? 'cuda' : 'cpu';
}

/** Per-node running totals while one placement pass assigns replicas. */
interface Ledger {
  view: NodeView;
  /** Bytes reserved per device: the node's own models plus every assignment so far. */
  used: { cpu: number; cuda: number };
  gpusUsed: number;
  replicas: number;
  /** Serves a replica or models of its own (under `pack`, scanned first). */
  awake: boolean;
  /** Being emptied by consolidation in this pass: takes no replica. */
  emptying?: boolean;
}

/** One placement pass's shared state. */
interface Pass {
  ledgers: Map<string, Ledger>;
  ledgerList: readonly Ledger[];
  policy: PowerPolicy;
  headroom: number;
  now: number;
  /** Where the next app's scan starts: scans rotate over the fleet, as Kubernetes' do. */
  cursor: number;
  /** Feasible nodes after which a scan stops (0: scan every node). */
  scoreLimit: number;
  awake: Ledger[];
  /** Consolidating: only awake nodes that keep their headroom are candidates. */
  awakeOnly?: boolean;
}

interface Candidate {
  ledger: Ledger;
  score: number;
}

/**
 * Places `need` more replicas of one app with one scan of the nodes: each feasible node is
 * scored once (replicas of one app go on distinct nodes, so one scan's memory check holds for
 * all of them), the best are kept, and with `spread: site` the best of each unused site first.
 * Returns why any replica stays unplaced, or ''.
 */
function choose(spec: AppSpec, assigned: Assignment[], failed: Readonly<Record<string, string>>, need: number, pass: Pass): string {
  const { ledgers, ledgerList, policy, headroom, now } = pass;
  const device = deviceOf(spec);
  const hosts = new Set(assigned.map((a) => a.node));
  const perSite = new Map<string, number>();
  for (const a of assigned) {
    const site = ledgers.get(a.node)!.view.site;
    perSite.set(site, (perSite.get(site) ?? 0) + 1);
  }
  const selectors = Object.entries(spec.select);
  const gpusNeeded = spec.gpu?.count ?? (spec.require.includes('gpu') ? 1 : 0);
  const spread = spec.spread === 'site';
  let already = 0;
  let failedThere = 0;
  let draining = 0;
  let atPowerBudget = 0;
  let noGpu = 0;
  let noMemory = 0;
  const selectorMisses = new Array<number>(selectors.length).fill(0);
  // The best `need` overall, best first; and under spread the best of each site.
  const top: Candidate[] = [];
  const bestOfSite = new Map<string, Candidate>();
  const checkHosts = hosts.size > 0;
  const failedNodes = Object.keys(failed).length > 0 ? new Set(Object.keys(failed)) : undefined;
  const pack = policy === 'pack';
  const cpu = device === 'cpu';
  const memory = spec.memoryBytes;
  let feasible = 0;
  const visit = (l: Ledger): void => {
    const v = l.view;
    if (checkHosts && hosts.has(v.node)) {
      already++;
      return;
    }
    if (failedNodes !== undefined && failedNodes.has(v.node)) {
      failedThere++;
      return;
    }
    if (v.draining || l.emptying === true) {
      draining++;
      return;
    }
    if (v.atPowerBudget === true) {
      atPowerBudget++;
      return;
    }
    if (gpusNeeded > 0 && v.gpus - l.gpusUsed < gpusNeeded) {
      noGpu++;
      return;
    }
    let miss = -1;
    for (let i = 0; i < selectors.length; i++) {
      if (v.labels[selectors[i]![0]] !== selectors[i]![1]) {
        miss = i;
        break;
      }
    }
    if (miss >= 0) {
      selectorMisses[miss]!++;
      return;
    }
    const budget = cpu ? v.budget.cpu : v.budget.cuda;
    const freeAfter = budget - (cpu ? l.used.cpu : l.used.cuda) - memory;
    if (freeAfter < 0 || (pass.awakeOnly === true && (!l.awake || freeAfter < budget * headroom))) {
      noMemory++;
      return;
    }
    let score: number;
    if (pack) {
      // Awake nodes first (best fit among them, keeping headroom), then the fullest asleep.
      score = (l.awake && freeAfter >= budget * headroom ? 4 : 0) - freeAfter / (budget || 1);
    } else {
      score = freeAfter / (budget || 1) - l.replicas * 0.01;
    }
    if (v.bundles.size > 0 && v.bundles.has(spec.digest)) score += 0.5;
    if (spec.preferSite !== undefined && v.site === spec.preferSite) score += 8;
    feasible++;
    // Allocate only for nodes that make a list: most of a large fleet does not.
    if (spread) {
      const held = bestOfSite.get(v.site);
      if (held === undefined || beats(score, v.node, held)) bestOfSite.set(v.site, { ledger: l, score });
    }
    if (top.length < need || beats(score, v.node, top[top.length - 1]!)) {
      let i = Math.min(top.length, need - 1);
      top[i] = { ledger: l, score };
      while (i > 0 && better(top[i]!, top[i - 1]!)) {
        [top[i], top[i - 1]] = [top[i - 1]!, top[i]!];
        i--;
      }
    }
  };
  const n = ledgerList.length;
  let scanned = 0;
  if (pack) for (const l of pass.awake) visit(l);
  // A large fleet is scanned until enough nodes fit, from where the last scan stopped; when
  // fewer fit, every node is scanned and the reasons cover them all.
  for (; scanned < n && pass.awakeOnly !== true; scanned++) {
    if (pass.scoreLimit > 0 && feasible >= pass.scoreLimit && top.length >= need) break;
    const l = ledgerList[(pass.cursor + scanned) % n]!;
    if (pack && l.awake) continue;
    visit(l);
  }
  pass.cursor = (pass.cursor + scanned) % Math.max(n, 1);
  const picked: Candidate[] = [];
  if (spread) {
    // Sites holding fewest replicas of this app first, the best node of each.
    const sites = [...bestOfSite.entries()].sort((a, b) => (perSite.get(a[0]) ?? 0) - (perSite.get(b[0]) ?? 0) || b[1].score - a[1].score || a[0].localeCompare(b[0]));
    for (const [, c] of sites) if (picked.length < need) picked.push(c);
  }
  for (const c of top) if (picked.length < need && !picked.some((p) => p.ledger === c.ledger)) picked.push(c);
  for (const { ledger: l } of picked) {
    l.used[device] += spec.memoryBytes;
    l.gpusUsed += gpusNeeded;
    l.replicas++;
    if (!l.awake) {
      l.awake = true;
      pass.awake.push(l);
    }
    assigned.push({ node: l.view.node, at: now });
  }
  if (picked.length === need) return '';
  const reasons = new Map<string, number>();
  const add = (why: string, n: number) => n > 0 && reasons.set(why, (reasons.get(why) ?? 0) + n);
  // Only a full scan gets here (a scan stops early only once enough nodes fit). Nodes chosen in
  // this pass count as running a replica now.
  add('already run a replica', already + picked.length);
  add('failed to load it', failedThere);
  add('are draining', draining);
  add('draw their power budget', atPowerBudget);
  add(gpusNeeded <= 1 ? 'have no free GPU' : `have fewer than ${gpusNeeded} free GPUs`, noGpu);
  selectors.forEach(([k, want], i) => add(`fail ${k}=${want}`, selectorMisses[i]!));
  add(`lack memory (need ${formatBytes(spec.memoryBytes)})`, noMemory);
  return `${assigned.length}/${assigned.length - picked.length + need} replicas placed; ${explain(reasons, n)}`;
}

function beats(score: number, node: string, b: Candidate): boolean {
  return score > b.score || (score === b.score && node < b.ledger.view.node);
}

function better(a: Candidate, b: Candidate): boolean {
  return beats(a.score, a.ledger.view.node, b);
}

function explain(counts: Map<string, number>, total: number): string {
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([why, n]) => `${n} ${why}`);
  return `0/${total} nodes fit${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

export function place(input: PlacementInput): PlacementOutput {
  const { nodes, apps, policy, now } = input;
  const headroom = input.headroom ?? 0.1;
  const ledgers = new Map<string, Ledger>();
  for (const view of nodes) ledgers.set(view.node, { view, used: { cpu: view.localBytes, cuda: 0 }, gpusUsed: 0, replicas: 0, awake: view.localBytes > 0 });
  const ledgerList = [...ledgers.values()];
  const pack = policy === 'pack';
  const readyOn = (node: string, app: string) => {
    const ready = ledgers.get(node)?.view.ready;
    return ready === undefined || ready.has(app);
  };
  const reserve = (l: Ledger, spec: AppSpec) => {
    l.used[deviceOf(spec)] += spec.memoryBytes;
    l.gpusUsed += spec.gpu?.count ?? 0;
    l.replicas++;
    l.awake = true;
  };

  // First keep every assignment still valid, so new replicas see the full reservations:
  // memory is never double-booked, even for replicas still loading (or still leaving).
  const kept = new Map<string, Assignment[]>();
  let moving = false;
  for (const { spec, current, target } of apps) {
    const keep: Assignment[] = [];
    const sameDigest = current?.digest === spec.digest;
    // A trim keeps the oldest replicas: scaling down undoes the last scale-up (measured better
    // for pack than keeping the replicas on the fullest nodes, bench/PLACEMENT.md).
    for (const a of (sameDigest ? current!.assigned : []).filter((x) => x.leaving !== true)) {
      const l = ledgers.get(a.node);
      if (l === undefined || l.view.draining || keep.length >= target) continue;
      reserve(l, spec);
      keep.push(a);
    }
    // A replica moving away serves until the app's others are ready, then goes.
    const successorsReady = keep.filter((a) => readyOn(a.node, spec.name)).length >= target;
    for (const a of sameDigest ? current!.assigned : []) {
      const l = ledgers.get(a.node);
      if (a.leaving !== true || l === undefined || successorsReady) continue;
      reserve(l, spec);
      keep.push(a);
      moving = true;
    }
    kept.set(spec.name, keep);
  }

  // Biggest apps first: first-fit decreasing packs better, and big ones fit while room is left.
  const order = [...apps].sort((a, b) => b.spec.memoryBytes - a.spec.memoryBytes || a.spec.name.localeCompare(b.spec.name));
  const placements = new Map<string, Placement>();
  const pass: Pass = { ledgers, ledgerList, policy, headroom, now, cursor: 0, scoreLimit: input.scoreLimit ?? 256, awake: ledgerList.filter((l) => l.awake) };
  for (const { spec, current, target } of order) {
    const assigned = kept.get(spec.name)!;
    const sameDigest = current?.digest === spec.digest;
    const failed = sameDigest ? current.failed : {};
    const need = target - assigned.filter((a) => a.leaving !== true).length;
    const pending = need > 0 ? choose(spec, assigned, failed, need, pass) : '';
    placements.set(spec.name, {
      v: FLEET_VERSION,
      app: spec.name,
      digest: spec.digest,
      ref: spec.ref,
      target,
      assigned,
      pending,
      failed,
      ...(sameDigest && current.failedAt !== undefined && { failedAt: current.failedAt }),
      scaledAt: current?.scaledAt ?? now,
    });
  }
  // Consolidating, one round at a time: only once every replica is placed and no move is under way.
  if (pack && !moving && [...placements.values()].every((p) => p.pending === '')) consolidate(apps, placements, pass, input.maxMoves ?? 8);
  const idle = ledgerList.filter((l) => l.replicas === 0 && l.view.localBytes === 0).map((l) => l.view.node);
  return { placements, idle };
}

/**
 * `pack` after the load dropped: empties the awake nodes holding fewest replicas, when every
 * replica they hold fits on other awake nodes with headroom to spare. A move is make before
 * break: the new replica is assigned and the old one marked `leaving`, serving until the new one
 * is ready. A node that cannot be emptied whole keeps what it holds.
 */
function consolidate(apps: readonly AppInput[], placements: Map<string, Placement>, pass: Pass, maxMoves: number): void {
  const specs = new Map(apps.map((a) => [a.spec.name, a.spec]));
  const hosted = new Map<string, string[]>();
  for (const p of placements.values()) for (const a of p.assigned) hosted.set(a.node, [...(hosted.get(a.node) ?? []), p.app]);
  const candidates = pass.ledgerList
    .filter((l) => l.awake && l.view.localBytes === 0 && !l.view.draining && (hosted.get(l.view.node)?.length ?? 0) > 0)
    .sort((a, b) => a.replicas - b.replicas || a.used.cpu + a.used.cuda - (b.used.cpu + b.used.cuda) || a.view.node.localeCompare(b.view.node));
  // Moving every replica of the last awake node anywhere else is no saving.
  const limit = Math.min(maxMoves, candidates.length - 1);
  pass.awakeOnly = true;
  let moved = 0;
  for (const [tried, l] of candidates.entries()) {
    if (moved >= limit || tried >= 4 * maxMoves) break;
    const node = l.view.node;
    // Only awake nodes take a moved replica: only they need putting back.
    const saved = pass.awake.map((x) => ({ x, used: { ...x.used }, gpusUsed: x.gpusUsed, replicas: x.replicas }));
    const before = new Map([...placements].map(([name, p]) => [name, p.assigned.length]));
    l.emptying = true;
    const all = hosted.get(node)!.every((app) => choose(specs.get(app)!, placements.get(app)!.assigned, placements.get(app)!.failed, 1, pass) === '');
    if (!all) {
      // Put everything back: this node keeps its replicas.
      for (const s of saved) Object.assign(s.x, { used: s.used, gpusUsed: s.gpusUsed, replicas: s.replicas });
      for (const [name, n] of before) placements.get(name)!.assigned.length = n;
      l.emptying = false;
      continue;
    }
    for (const app of hosted.get(node)!) for (const a of placements.get(app)!.assigned) if (a.node === node) a.leaving = true;
    moved++;
  }
  pass.awakeOnly = false;
}
