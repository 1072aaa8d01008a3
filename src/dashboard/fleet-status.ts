// Maps the fleet's own answers (FleetControl.nodes() and .apps(), exactly what GET
// /admin/fleet/nodes and /admin/fleet/apps serve) into the Fleet view's FleetStatus, so the page
// shows the admin API's figures and nothing the fleet does not report.

import type { FleetControl, NodeStatus, AppStatus } from '../fleet/index.js';
import type { FleetStatus } from './types.js';

function node(n: NodeStatus): FleetStatus['nodes'][number] {
  const r = n.record;
  return {
    id: r.node,
    site: r.site,
    url: r.url,
    version: r.version,
    at: r.at,
    draining: r.draining,
    scheduler: n.scheduler,
    queued: r.load.reduce((sum, l) => sum + l.queued, 0),
    inflight: r.load.reduce((sum, l) => sum + l.inflight, 0),
    watts: r.power.watts,
    powerSource: r.power.source,
    measured: r.power.measured,
    replicas: n.replicas,
    idle: n.idle,
  };
}

function app(a: AppStatus): FleetStatus['apps'][number] {
  return {
    name: a.name,
    health: a.health,
    target: a.replicas.target,
    ready: a.replicas.ready,
    replicas: a.placed.map((p) => ({ node: p.node, site: p.site, state: p.state, error: p.error })),
    pending: a.pending,
  };
}

/** The dashboard's `fleet` source: null while the node has no fleet or is a fleet of one. */
export function fleetStatus(control: () => FleetControl | undefined): () => Promise<FleetStatus | null> {
  return async () => {
    const fleet = control();
    if (fleet === undefined) return null;
    const nodes = fleet.nodes();
    if (!nodes.fleet) return null;
    return { policy: nodes.policy, scheduler: nodes.scheduler, nodes: nodes.nodes.map(node), apps: fleet.apps().map(app) };
  };
}
