// Placement, a pure function: the live nodes, the desired apps and the current placements in,
// the next placements out — with, for every replica not placed, the reason in words. The
// scheduler runs it on the lease holder; bench/placement.ts runs it against simulated fleets.

import type { AppSpec, Assignment, Placement } from './messages.js';
import { FLEET_VERSION } from './namespace.js';

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
}

export interface PlacementOutput {
  placements: Map<string, Placement>;
  /** Nodes serving no replica (under `pack`, the ones that can sleep). */
  idle: string[];
}

const GIB = 1024 ** 3;

export function formatBytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
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
}

function explain(counts: Map<string, number>, total: number): string {
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([why, n]) => `${n} ${why}`);
  return `0/${total} nodes fit${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

export function place(input: PlacementInput): PlacementOutput {
  const { nodes, apps, policy, now } = input;
  const headroom = input.headroom ?? 0.1;
  const ledgers = new Map<string, Ledger>();
  for (const view of nodes) ledgers.set(view.node, { view, used: { cpu: view.localBytes, cuda: 0 }, gpusUsed: 0, replicas: 0 });
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
      keep.push(a);
    }
    kept.set(spec.name, keep);
  }

  // Biggest apps first: first-fit decreasing packs better, and big ones fit while room is left.
  const order = [...apps].sort((a, b) => b.spec.memoryBytes - a.spec.memoryBytes || a.spec.name.localeCompare(b.spec.name));
  const placements = new Map<string, Placement>();
  for (const { spec, current, target } of order) {
    const device = deviceOf(spec);
    const assigned = kept.get(spec.name)!;
    const failed = current?.digest === spec.digest ? current.failed : {};
    const hosts = new Set(assigned.map((a) => a.node));
    const perSite = new Map<string, number>();
    for (const a of assigned) {
      const site = ledgers.get(a.node)!.view.site;
      perSite.set(site, (perSite.get(site) ?? 0) + 1);
    }
    const selectors = Object.entries(spec.select);
    const gpusNeeded = spec.gpu?.count ?? (spec.require.includes('gpu') ? 1 : 0);
    let pending = '';
    while (assigned.length < target) {
      const reasons = new Map<string, number>();
      const reject = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
      let best: Ledger | undefined;
      let bestScore = -Infinity;
      for (const l of ledgerList) {
        const v = l.view;
        if (hosts.has(v.node)) {
          reject('already run a replica');
          continue;
        }
        if (failed[v.node] !== undefined) {
          reject('failed to load it');
          continue;
        }
        if (v.draining) {
          reject('are draining');
          continue;
        }
        if (gpusNeeded > 0 && v.gpus - l.gpusUsed < gpusNeeded) {
          reject(gpusNeeded === 1 ? 'have no free GPU' : `have fewer than ${gpusNeeded} free GPUs`);
          continue;
        }
        let selected = true;
        for (const [k, want] of selectors) {
          if (v.labels[k] !== want) {
            reject(`fail ${k}=${want}`);
            selected = false;
            break;
          }
        }
        if (!selected) continue;
        const budget = v.budget[device];
        const freeAfter = budget - l.used[device] - spec.memoryBytes;
        if (freeAfter < 0) {
          reject(`lack memory (need ${formatBytes(spec.memoryBytes)})`);
          continue;
        }
        let score: number;
        if (policy === 'pack') {
          // Awake nodes first (best fit among them, keeping headroom), then the fullest asleep.
          const awake = l.replicas > 0 || l.used.cpu > 0;
          const roomy = freeAfter >= budget * headroom;
          score = (awake && roomy ? 4 : 0) - freeAfter / Math.max(budget, 1);
        } else {
          score = freeAfter / Math.max(budget, 1) - l.replicas * 0.01;
        }
        if (v.bundles.has(spec.digest)) score += 0.5;
        if (spec.preferSite !== undefined && v.site === spec.preferSite) score += 8;
        if (spec.spread === 'site') score -= 16 * (perSite.get(v.site) ?? 0);
        if (score > bestScore || (score === bestScore && best !== undefined && v.node < best.view.node)) {
          best = l;
          bestScore = score;
        }
      }
      if (best === undefined) {
        pending = `${assigned.length}/${target} replicas placed; ${explain(reasons, ledgerList.length)}`;
        break;
      }
      best.used[device] += spec.memoryBytes;
      best.gpusUsed += gpusNeeded;
      best.replicas++;
      hosts.add(best.view.node);
      perSite.set(best.view.site, (perSite.get(best.view.site) ?? 0) + 1);
      assigned.push({ node: best.view.node, at: now });
    }
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
