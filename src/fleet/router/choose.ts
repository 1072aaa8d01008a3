// Replica choice: power of two choices over the nodes that serve a target. Each candidate's score
// is queue depth (what its heartbeat reports plus what this router has in flight to it) + recent
// latency (its reported p50 blended with this router's own observations) + energy per request,
// each times its weight, plus a site penalty for leaving the caller's site. Two random replicas
// are drawn from an index by target and scored, the lower wins: O(1) per decision however large
// the fleet.

import type { NodeRecord } from '../messages.js';

export interface RouteWeights {
  /** Per queued or in-flight request. */
  queue: number;
  /** Per millisecond of recent latency. */
  latency: number;
  /** Added for a replica outside this node's site. */
  site: number;
  /** Per joule per request. */
  energy: number;
}

export interface Candidate {
  node: string;
  site: string;
  /** Queued plus in flight, as reported. */
  queue: number;
  latencyMs: number;
  joules: number;
}

const OBSERVATION_TTL_MS = 10_000;

/** The router's own view of one node: requests it has in flight there and latency it saw. */
export class Observations {
  private readonly inflight = new Map<string, number>();
  /** Per node and target: a slow model must not make the node's other models look slow. */
  private readonly latency = new Map<string, { ms: number; at: number }>();
  private readonly down = new Map<string, number>();

  start(node: string): void {
    this.inflight.set(node, (this.inflight.get(node) ?? 0) + 1);
  }

  finish(node: string, target: string, ms: number | undefined, now = Date.now()): void {
    this.inflight.set(node, Math.max(0, (this.inflight.get(node) ?? 1) - 1));
    if (ms === undefined) return;
    const key = `${node}/${target}`;
    const before = this.latencyOf(node, target, now);
    // An exponential moving average: a node turning slow shows within a few requests.
    this.latency.set(key, { ms: before === undefined ? ms : before * 0.8 + ms * 0.2, at: now });
  }

  markDown(node: string, untilMs: number): void {
    this.down.set(node, untilMs);
  }

  isDown(node: string, now: number): boolean {
    const until = this.down.get(node);
    if (until === undefined) return false;
    if (until > now) return true;
    this.down.delete(node);
    return false;
  }

  /** Nodes marked down now, with the epoch ms until which they are skipped. */
  downNodes(now = Date.now()): Array<{ node: string; until: number }> {
    return [...this.down].filter(([node]) => this.isDown(node, now)).map(([node, until]) => ({ node, until }));
  }

  outstanding(node: string): number {
    return this.inflight.get(node) ?? 0;
  }

  /** Observations older than OBSERVATION_TTL_MS are forgotten: a node that was slow once gets tried again. */
  latencyOf(node: string, target: string, now = Date.now()): number | undefined {
    const seen = this.latency.get(`${node}/${target}`);
    return seen !== undefined && now - seen.at < OBSERVATION_TTL_MS ? seen.ms : undefined;
  }
}

/** Does this node serve the model or app, as its record says? */
export function serves(record: NodeRecord, target: Target): boolean {
  if (target.kind === 'app') return record.apps.some((a) => a.name === target.name) && !record.replicas.some((r) => r.app === target.name && r.state !== 'ready');
  return record.models.includes(target.name);
}

export interface Target {
  kind: 'model' | 'app';
  name: string;
}

export function candidate(record: NodeRecord, target: Target, seen: Observations): Candidate {
  const loads = target.kind === 'model' ? record.load.filter((l) => l.model === target.name) : record.load;
  const reported = loads.reduce((n, l) => n + l.queued + l.inflight, 0);
  const p50 = loads.length === 0 ? 0 : Math.max(...loads.map((l) => l.p50Ms));
  const own = seen.latencyOf(record.node, target.name);
  return {
    node: record.node,
    site: record.site,
    queue: Math.max(reported, seen.outstanding(record.node)),
    latencyMs: own === undefined ? p50 : (own + p50) / 2,
    joules: loads.length === 0 ? 0 : Math.max(...loads.map((l) => l.joulesPerRequest)),
  };
}

export function score(c: Candidate, site: string, w: RouteWeights): number {
  return w.queue * c.queue + w.latency * c.latencyMs + w.energy * c.joules + (c.site === site ? 0 : w.site);
}

/** Power of two choices; `random` is injectable for tests. */
export function pickTwo(candidates: readonly Candidate[], site: string, w: RouteWeights, random: () => number = Math.random): Candidate | undefined {
  if (candidates.length <= 1) return candidates[0];
  const i = Math.floor(random() * candidates.length);
  let j = Math.floor(random() * (candidates.length - 1));
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  return score(a, site, w) <= score(b, site, w) ? a : b;
}

/** How stale the index of replicas by target may be: records change at heartbeats (seconds). */
const INDEX_TTL_MS = 250;
/** Random draws a decision makes before it looks at every replica instead. */
const DRAWS = 8;
/** A target some node served this recently is the fleet's still: while none is ready it is 503, not 404. */
const KNOWN_FOR_MS = 60_000;

export interface ChooserOptions {
  /** This node: never a candidate of its own. */
  node: string;
  site: string;
  /** Live node records of the fleet. */
  nodes: () => ReadonlyMap<string, NodeRecord>;
  weights: RouteWeights;
  seen: Observations;
}

/** The replicas of every target, indexed from the node records, and the choice among them. */
export class ReplicaChooser {
  private index: { at: number; byTarget: Map<string, NodeRecord[]> } = { at: -Infinity, byTarget: new Map() };
  /** When each target last had a replica in the index (one entry per model or app the fleet served). */
  private readonly lastServed = new Map<string, number>();

  constructor(private readonly o: ChooserOptions) {}

  /** Other nodes' records by target (`model:NAME`, `app:NAME`), draining ones left out; rebuilt at most every INDEX_TTL_MS. */
  replicasOf(target: Target): readonly NodeRecord[] {
    const now = Date.now();
    if (now - this.index.at >= INDEX_TTL_MS) {
      const byTarget = new Map<string, NodeRecord[]>();
      const add = (key: string, record: NodeRecord) => {
        const list = byTarget.get(key);
        if (list === undefined) byTarget.set(key, [record]);
        else list.push(record);
      };
      for (const record of this.o.nodes().values()) {
        if (record.node === this.o.node || record.draining) continue;
        for (const model of record.models) add(`model:${model}`, record);
        for (const app of record.apps) if (serves(record, { kind: 'app', name: app.name })) add(`app:${app.name}`, record);
      }
      this.index = { at: now, byTarget };
      for (const key of byTarget.keys()) this.lastServed.set(key, now);
    }
    return this.index.byTarget.get(`${target.kind}:${target.name}`) ?? [];
  }

  /**
   * One routing decision: two random replicas of the target, not marked down and not in `skip`,
   * the lower score wins; with `below`, only a replica with fewer requests queued than that.
   * Drawn by rejection sampling, so a decision costs the same for 3 replicas or 3,000; only when
   * most are skipped does it look at every one.
   */
  choose(target: Target, skip: ReadonlySet<string> = new Set(), below = Infinity): Candidate | undefined {
    const list = this.replicasOf(target);
    const now = Date.now();
    const usable = (r: NodeRecord) => !skip.has(r.node) && !this.o.seen.isDown(r.node, now);
    let drawn: NodeRecord[] = [];
    for (let tries = 0; tries < DRAWS && drawn.length < 2 && list.length > 0; tries++) {
      const r = list[Math.floor(Math.random() * list.length)]!;
      if (usable(r) && !drawn.includes(r)) drawn.push(r);
    }
    if (drawn.length < 2) drawn = list.filter(usable);
    const scored = drawn.map((r) => candidate(r, target, this.o.seen)).filter((c) => c.queue < below);
    return pickTwo(scored, this.o.site, this.o.weights);
  }

  /**
   * Whether another node serves the target or did within the last minute: its replicas may be
   * marked down, loading, or re-placed after their node died — the fleet's, not unknown.
   */
  known(target: Target): boolean {
    if (this.replicasOf(target).length > 0) return true;
    const key = `${target.kind}:${target.name}`;
    const at = this.lastServed.get(key);
    if (at === undefined) return false;
    if (Date.now() - at < KNOWN_FOR_MS) return true;
    this.lastServed.delete(key);
    return false;
  }

  /** Builds the index again at the next look (a replica answered that it no longer holds a target). */
  refresh(): void {
    this.index.at = -Infinity;
  }

  /** Is a replica left that is neither marked down nor in `skip`? Stops at the first. */
  anyLeft(target: Target, skip: ReadonlySet<string>): boolean {
    const now = Date.now();
    return this.replicasOf(target).some((r) => !skip.has(r.node) && !this.o.seen.isDown(r.node, now));
  }
}
