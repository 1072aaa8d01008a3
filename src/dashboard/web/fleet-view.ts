// The Fleet view: nodes by site with their state, load (queued and in flight), power (measured or
// estimated) and idle state; apps with their replicas and where they run; replicas not placed,
// with the scheduler's reason. It draws the fleet's answers the snapshot carries (FleetStatus),
// and says 'single node' without one.

import type { DashboardSnapshot } from '../types.js';
import { badge, cell, esc, fixed, table } from './format.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export class FleetView {
  constructor(private readonly root: HTMLElement) {}

  update(s: DashboardSnapshot): void {
    const fleet = s.fleet;
    if (fleet === null) {
      this.root.innerHTML = `<div class="card" id="single-node"><h2>Fleet</h2><div class="big">single node</div>
        <div class="muted">This node is not part of a fleet: it serves ${plural(s.models.length, 'model')} and ${plural(s.apps.length, 'app')} on its own. Nodes that join a fleet list every node by site here, with each app's replicas and why one is not placed.</div></div>`;
      return;
    }
    const sites = [...new Set(fleet.nodes.map((n) => n.site))].sort();
    const nodes = sites
      .map((site) => `<div class="card" data-site="${esc(site)}"><h2>Site ${esc(site)}</h2>${table(
        ['Node', 'State', '#Queued', '#In flight', '#Power', 'Source', '#Replicas', 'Idle'],
        fleet.nodes
          .filter((n) => n.site === site)
          .map(
            (n) =>
              `<tr data-node="${esc(n.id)}" data-at="${esc(n.at)}"><td>${esc(n.id)}${n.scheduler ? ' <span class="muted" title="holds the scheduler lease">scheduler</span>' : ''} <span class="muted">${esc(n.url)}</span></td>` +
              `<td>${n.draining ? badge('draining') : badge('ready', 'serving')}</td>${cell('queued', n.queued, String(n.queued))}${cell('inflight', n.inflight, String(n.inflight))}` +
              `${cell('watts', n.watts, `${fixed(n.watts, 1)} W`)}<td data-figure="measured" data-value="${n.measured}">${badge(n.measured ? 'measured' : 'estimated')}${n.powerSource === (n.measured ? 'measured' : 'estimated') ? '' : ` <span class="muted">${esc(n.powerSource)}</span>`}</td>` +
              `${cell('replicas', n.replicas, String(n.replicas))}<td>${n.idle ? badge('idle') : '—'}</td></tr>`,
          ),
        'no nodes',
      )}</div>`)
      .join('');
    const rows = fleet.apps.flatMap((a) => [
      ...a.replicas.map(
        (r) => `<tr data-app="${esc(a.name)}" data-replica="${esc(r.node)}"><td>${esc(a.name)} ${badge(a.health)}</td><td>${badge(r.state)}</td><td>${esc(r.node)} <span class="muted">${esc(r.site)}</span></td><td>${esc(r.error ?? '')}</td></tr>`,
      ),
      // The scheduler gives one reason for all the replicas it could not place.
      ...(a.pending === '' ? [] : [`<tr data-app="${esc(a.name)}" data-pending><td>${esc(a.name)} ${badge(a.health)}</td><td>${badge('pending')}</td><td>—</td><td>${esc(a.pending)}</td></tr>`]),
    ]);
    const apps = table(['App', 'State', 'Where', 'Why not placed / error'], rows, 'no apps deployed to the fleet');
    const head = `<div class="muted">policy ${esc(fleet.policy)} · scheduler ${esc(fleet.scheduler ?? 'none')} · ${plural(fleet.nodes.length, 'node')}</div>`;
    this.root.innerHTML = `<div class="card" id="fleet-head"><h2>Fleet</h2>${head}</div><div class="grid">${nodes}</div><div class="card"><h2>Apps and replicas</h2>${apps}</div>`;
  }
}
