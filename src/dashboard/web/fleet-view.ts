// The Fleet view: nodes by site with health, load, power and idle state; apps with their replicas
// and where they run; a replica that is not placed, with the scheduler's reason. It draws the
// fleet status (GET /admin/fleet/status) the snapshot carries, and says 'single node' without one.

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
        ['Node', 'Health', '#Load', '#Power', 'Idle'],
        fleet.nodes
          .filter((n) => n.site === site)
          .map((n) => `<tr data-node="${esc(n.id)}"><td>${esc(n.id)} <span class="muted">${esc(n.url)}</span></td><td>${badge(n.health)}</td>${cell('load', n.load, `${fixed(n.load * 100, 0)} %`)}${cell('watts', n.watts ?? 0, n.watts === undefined ? '—' : `${fixed(n.watts, 1)} W`)}<td>${n.idle ? badge('idle') : '—'}</td></tr>`),
        'no nodes',
      )}</div>`)
      .join('');
    const apps = table(
      ['App', 'Replica', 'State', 'Where', 'Why not placed'],
      fleet.apps.flatMap((a) => a.replicas.map((r, i) => `<tr data-app="${esc(a.name)}"><td>${esc(a.name)}</td><td>#${i + 1}</td><td>${badge(r.state)}</td><td>${esc(r.node ?? '—')}</td><td>${esc(r.reason ?? '')}</td></tr>`)),
      'no apps',
    );
    this.root.innerHTML = `<div class="grid">${nodes}</div><div class="card"><h2>Apps and replicas</h2>${apps}</div>`;
  }
}
