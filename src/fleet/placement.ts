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
    if (v.draining) {
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
    if (freeAfter < 0) {
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
  for (; scanned < n; scanned++) {
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

  // First keep every assignment still valid, so new replicas see the full reservations:
  // memory is never double-booked, even for replicas still loading.
  const kept = new Map<string, Assignment[]>();
  for (const { spec, current, target } of apps) {
    const device = deviceOf(spec);
    const keep: Assignment[] = [];
    const sameDigest = current?.digest === spec.digest;
    for (const a of sameDigest ? current!.assigned : []) {
      const l = ledgers.get(a.node);
      if (l === undefined || l.view.draining || keep.length >= target) continue;
      l.used[device] += spec.memoryBytes;
      l.gpusUsed += spec.gpu?.count ?? 0;
      l.replicas++;
      l.awake = true;
      keep.push(a);
    }
    kept.set(spec.name, keep);
  }

  // Biggest apps first: first-fit decreasing packs better, and big ones fit while room is left.
  const order = [...apps].sort((a, b) => b.spec.memoryBytes - a.spec.memoryBytes || a.spec.name.localeCompare(b.spec.name));
  const placements = new Map<string, Placement>();
  const pass: Pass = { ledgers, ledgerList, policy, headroom, now, cursor: 0, scoreLimit: input.scoreLimit ?? 256, awake: ledgerList.filter((l) => l.awake) };
  for (const { spec, current, target } of order) {
    const assigned = kept.get(spec.name)!;
    const failed = current?.digest === spec.digest ? current.failed : {};
    const need = target - assigned.length;
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
      scaledAt: current?.scaledAt ?? now,
    });
  }
  const idle = ledgerList.filter((l) => l.replicas === 0 && l.view.localBytes === 0).map((l) => l.view.node);
  return { placements, idle };
}
