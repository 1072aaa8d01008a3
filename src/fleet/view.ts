// What `weft status` and `weft nodes` show, computed from the buckets as any node sees them:
// per app its replicas, where, their state, and why any is pending; per node its inventory and,
// under the `pack` policy, whether it serves nothing and what sleeping it would save.

import type { AppSpec, NodeRecord, Placement, ReplicaState } from './messages.js';

export interface ReplicaView {
  node: string;
  site: string;
  /** `assigned`: placed, the node has not reported it yet; `lost`: its node is gone. */
  state: ReplicaState | 'assigned' | 'lost';
  error?: string;
  /** Being moved off this node (`pack` consolidating): it serves until the app's others are ready. */
  leaving?: true;
}

export interface AppStatus {
  name: string;
  ref: string;
  digest: string;
  memoryBytes: number;
  replicas: { min: number; max: number; target: number; ready: number };
  constraints: { require: string[]; select: Record<string, string>; spread?: string; preferSite?: string };
  placed: ReplicaView[];
  /** Why replicas are not placed; empty when all are. */
  pending: string;
  /** Nodes that could not pull or load it, with their error. */
  failed: Record<string, string>;
  health: 'healthy' | 'degraded' | 'unavailable' | 'pending';
}

export interface NodeStatus {
  record: NodeRecord;
  /** Replicas the scheduler placed here. */
  replicas: number;
  /** Under `pack`: serves nothing and could sleep, saving `record.power.watts`. */
  idle: boolean;
  scheduler: boolean;
}

export function appStatus(spec: AppSpec, placement: Placement | undefined, nodes: ReadonlyMap<string, NodeRecord>): AppStatus {
  const current = placement?.digest === spec.digest ? placement : undefined;
  const placed: ReplicaView[] = (current?.assigned ?? []).map((a) => {
    const record = nodes.get(a.node);
    if (record === undefined) return { node: a.node, site: '-', state: 'lost' };
    const report = record.replicas.find((r) => r.app === spec.name && r.digest === spec.digest);
    return { node: a.node, site: record.site, state: report?.state ?? 'assigned', ...(report?.error === undefined ? {} : { error: report.error }), ...(a.leaving === true ? { leaving: true as const } : {}) };
  });
  const ready = placed.filter((r) => r.state === 'ready').length;
  const target = current?.target ?? spec.replicas.min;
  const health = ready === 0 ? (placed.length === 0 ? 'pending' : 'unavailable') : ready < target ? 'degraded' : 'healthy';
  return {
    name: spec.name,
    ref: spec.ref,
    digest: spec.digest,
    memoryBytes: spec.memoryBytes,
    replicas: { min: spec.replicas.min, max: spec.replicas.max, target, ready },
    constraints: {
      require: spec.require,
      select: spec.select,
      ...(spec.spread === undefined ? {} : { spread: spec.spread }),
      ...(spec.preferSite === undefined ? {} : { preferSite: spec.preferSite }),
    },
    placed,
    pending: current === undefined ? 'waiting for the scheduler' : current.pending,
    failed: current?.failed ?? {},
    health,
  };
}

export function nodeStatus(nodes: ReadonlyMap<string, NodeRecord>, placements: Iterable<Placement>, policy: 'spread' | 'pack', holder: string | undefined): NodeStatus[] {
  const count = new Map<string, number>();
  for (const p of placements) for (const a of p.assigned) count.set(a.node, (count.get(a.node) ?? 0) + 1);
  return [...nodes.values()]
    .sort((a, b) => a.site.localeCompare(b.site) || a.node.localeCompare(b.node))
    .map((record) => {
      const replicas = count.get(record.node) ?? 0;
      return { record, replicas, idle: policy === 'pack' && replicas === 0 && record.localBytes === 0, scheduler: record.node === holder };
    });
}
