// The Energy view: node power per device over time, and joules per request per model and app,
// each figure labelled measured (RAPL, nvidia-smi) or estimated (a model of the machine).

import type { DashboardSnapshot } from '../types.js';
import { LiveChart } from './charts.js';
import { badge, cell, esc, fixed, joules, table } from './format.js';

export class EnergyView {
  private readonly power: LiveChart;
  private readonly perRequest: LiveChart;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <div class="grid">
        <div class="card"><h2>Node power <span class="muted">W per device</span></h2><div class="chart" id="c-power"></div></div>
        <div class="card"><h2>Energy per request <span class="muted">J, last 60 s</span></h2><div class="chart" id="c-jpr"></div></div>
      </div>
      <div class="grid">
        <div class="card"><h2>Devices</h2><div id="e-devices"></div></div>
        <div class="card"><h2>Per model and app <span class="muted">— last <span id="e-window"></span> s, as GET /admin/stats</span></h2><div id="e-keys"></div></div>
      </div>
      <div class="card"><h2>Energy since start <span class="muted">— weft_energy_joules_total (model _idle: no request ran)</span></h2><div id="e-totals"></div></div>`;
    this.power = new LiveChart(root.querySelector('#c-power')!, (n) => fixed(n, 1));
    this.perRequest = new LiveChart(root.querySelector('#c-jpr')!, (n) => joules(n));
  }

  restyle(): void {
    this.power.restyle();
    this.perRequest.restyle();
  }

  update(s: DashboardSnapshot): void {
    const el = (id: string) => this.root.querySelector<HTMLElement>(`#${id}`)!;
    el('e-window').textContent = String(s.stats.windowSeconds);
    el('e-devices').innerHTML = table(
      ['Device', 'Source', '#Power', '#Energy'],
      s.stats.power.map((p) => `<tr data-device="${esc(p.device)}"><td>${esc(p.device)}</td><td>${badge(p.source)}</td>${cell('watts', p.watts, `${fixed(p.watts, 1)} W`)}${cell('joules', p.joules, joules(p.joules))}</tr>`),
      'no energy meters on this node (--energy)',
    );
    // Which sources the node attributed each model's and app's joules from.
    const sources = new Map<string, Set<string>>();
    for (const e of s.metrics.energy) {
      const k = `${e.model}|${e.app}`;
      sources.set(k, (sources.get(k) ?? new Set()).add(e.source));
    }
    el('e-keys').innerHTML = table(
      ['Model', 'App', '#J/request', '#Watts', '#Requests', 'Source'],
      s.stats.models.map((m) => {
        const src = [...(sources.get(`${m.model}|${m.app}`) ?? [])];
        return `<tr data-key="${esc(m.model)}|${esc(m.app)}"><td>${esc(m.model)}</td><td>${esc(m.app || '—')}</td>${cell('joulesPerRequest', m.joulesPerRequest, joules(m.joulesPerRequest))}${cell('watts', m.watts, fixed(m.watts, 2))}${cell('requests', m.requests, String(m.requests))}
          <td>${src.length ? src.map((x) => badge(x)).join(' ') : '<span class="muted">no energy yet</span>'}</td></tr>`;
      }),
      'no models',
    );
    el('e-totals').innerHTML = table(
      ['Model', 'App', 'Device', 'Source', '#Energy'],
      s.metrics.energy.map((e) => `<tr><td>${esc(e.model)}</td><td>${esc(e.app || '—')}</td><td>${esc(e.device)}</td><td>${badge(e.source)}</td>${cell('joules', e.joules, joules(e.joules))}</tr>`),
      'no energy attributed yet',
    );
    this.power.push(s.at, Object.fromEntries(s.stats.power.map((p) => [`${p.device} (${p.source})`, p.watts])));
    this.perRequest.push(s.at, Object.fromEntries(s.stats.models.map((m) => [m.app ? `${m.model} · ${m.app}` : m.model, m.joulesPerRequest])));
  }
}
