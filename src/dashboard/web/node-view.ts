// The Node view: models and apps with their state, memory against the budget, and per model the
// rolling figures of GET /admin/stats with their charts; language-model timings from /metrics.

import type { DashboardSnapshot } from '../types.js';
import { LiveChart } from './charts.js';
import { badge, bytes, cell, esc, fixed, ms, table } from './format.js';

const SPLIT_COLOURS = { component: '#8b5cf6', model: '#3b82f6', queue: '#f59e0b', other: '#94a3b8' };

function key(model: string, app: string): string {
  return app === '' ? model : `${model} · ${app}`;
}

export class NodeView {
  private readonly charts: Record<string, LiveChart> = {};

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <div class="cards" id="n-summary"></div>
      <div class="grid">
        <div class="card"><h2>Models</h2><div id="n-models"></div></div>
        <div class="card"><h2>Apps <span class="muted">— where an app request's time goes (mean of its kept traces)</span></h2><div id="n-apps"></div></div>
      </div>
      <div class="card" style="margin-bottom:14px"><h2>Per model <span class="muted">— last <span id="n-window"></span> s, as GET /admin/stats</span></h2><div id="n-keys"></div></div>
      <div class="grid">
        <div class="card"><h2>Request rate <span class="muted">req/s</span></h2><div class="chart" id="c-rate"></div></div>
        <div class="card"><h2>Latency <span class="muted">p50 and p99</span></h2><div class="chart" id="c-latency"></div></div>
        <div class="card"><h2>Queue depth <span class="muted">requests waiting</span></h2><div class="chart" id="c-queue"></div></div>
        <div class="card"><h2>Batch size <span class="muted">mean rows per batch</span></h2><div class="chart" id="c-batch"></div></div>
        <div class="card"><h2>Errors by code <span class="muted">since start</span></h2><div class="chart" id="c-errors"></div></div>
      </div>
      <div id="n-llm-section" hidden>
        <div class="card" style="margin-bottom:14px"><h2>Language models <span class="muted">— from /metrics, means since start</span></h2><div id="n-llm"></div></div>
        <div class="grid">
          <div class="card"><h2>Output tokens/s</h2><div class="chart" id="c-tokens"></div></div>
          <div class="card"><h2>Time to first token <span class="muted">mean</span></h2><div class="chart" id="c-ttft"></div></div>
        </div>
      </div>`;
    const el = (id: string) => root.querySelector<HTMLElement>(`#${id}`)!;
    this.charts.rate = new LiveChart(el('c-rate'), (n) => fixed(n, 2));
    this.charts.latency = new LiveChart(el('c-latency'), (n) => ms(n));
    const count = (n: number) => (Number.isInteger(n) ? String(n) : fixed(n, 1));
    this.charts.queue = new LiveChart(el('c-queue'), count);
    this.charts.batch = new LiveChart(el('c-batch'), (n) => fixed(n, 1));
    this.charts.errors = new LiveChart(el('c-errors'), count);
    this.charts.tokens = new LiveChart(el('c-tokens'), (n) => fixed(n, 1));
    this.charts.ttft = new LiveChart(el('c-ttft'), (n) => ms(n));
  }

  restyle(): void {
    for (const chart of Object.values(this.charts)) chart.restyle();
  }

  update(s: DashboardSnapshot): void {
    const el = (id: string) => this.root.querySelector<HTMLElement>(`#${id}`)!;
    const memory = s.memory.map(
      (m) => `<div class="card" data-memory="${esc(m.device)}"><h2>${esc(m.device)} memory <span class="muted">models against the budget</span></h2>
        <div class="big">${esc(bytes(m.usedBytes))} <span class="muted" style="font-size:14px">of ${esc(bytes(m.budgetBytes))}</span></div>
        <div class="meter"><div style="width:${Math.min(100, (100 * m.usedBytes) / Math.max(1, m.budgetBytes))}%"></div></div></div>`,
    );
    const power = s.stats.power.map((p) => `<div>${esc(p.device)} <b>${esc(fixed(p.watts, 1))} W</b> ${badge(p.source)}</div>`).join('') || '<div class="muted">no energy meters</div>';
    const t = s.stats.tracing;
    el('n-summary').innerHTML = [
      ...memory,
      `<div class="card"><h2>Power</h2>${power}</div>`,
      `<div class="card"><h2>Tracing</h2>${t.enabled ? `<div class="big">${badge('ready', 'on')}</div><div class="muted">${t.kept} kept, ${t.dropped} dropped</div>` : `<div class="big">${badge('unloaded', 'off')}</div><div class="muted">OTEL_TRACES_EXPORTER=otlp turns it on</div>`}</div>`,
    ].join('');

    el('n-models').innerHTML = table(
      ['Model', 'Kind', 'State', 'Device', '#Memory', '#In flight', '#Queued'],
      s.models.map(
        (m) => `<tr data-model="${esc(m.name)}"><td>${esc(m.name)}${m.version !== undefined ? ` <span class="muted">v${m.version}</span>` : ''}</td><td>${esc(m.kind)}</td>
          <td>${badge(m.state)}${m.reason ? `<div class="muted">${esc(m.reason)}</div>` : ''}</td><td>${esc(m.device ?? '—')}</td>
          ${cell('memory', m.memoryBytes, m.memoryBytes > 0 ? bytes(m.memoryBytes) : '—')}${cell('inflight', m.inflight, String(m.inflight))}${cell('queued', m.queued, String(m.queued))}</tr>`,
      ),
      'no models',
    );

    const splits = new Map(s.split.map((x) => [x.app, x]));
    el('n-apps').innerHTML =
      table(
        ['App', 'Version', 'Models', 'Split', '#Request', '#Component', '#Model', '#Queue'],
        s.apps.map((a) => {
          const x = splits.get(a.name);
          if (x === undefined) return `<tr data-app="${esc(a.name)}"><td>${esc(a.name)}</td><td>${esc(a.version)}</td><td>${esc(a.models.join(', ') || '—')}</td><td colspan="5" class="muted">${s.traces.enabled ? 'no kept traces yet' : 'needs tracing on'}</td></tr>`;
          const other = Math.max(0, x.requestMs - x.componentMs - x.modelMs - x.queueMs);
          const total = Math.max(1e-9, x.requestMs);
          const bar = (['component', 'model', 'queue'] as const).map((k) => `<div style="width:${(100 * x[`${k}Ms`]) / total}%;background:${SPLIT_COLOURS[k]}" title="${k}"></div>`).join('') + `<div style="width:${(100 * other) / total}%;background:${SPLIT_COLOURS.other}" title="other"></div>`;
          return `<tr data-app="${esc(a.name)}"><td>${esc(a.name)}</td><td>${esc(a.version)}</td><td>${esc(a.models.join(', ') || '—')}</td><td><div class="split">${bar}</div><div class="muted">${x.traces} kept ${x.traces === 1 ? 'trace' : 'traces'}</div></td>
            ${cell('requestMs', x.requestMs, ms(x.requestMs))}${cell('componentMs', x.componentMs, ms(x.componentMs))}${cell('modelMs', x.modelMs, ms(x.modelMs))}${cell('queueMs', x.queueMs, ms(x.queueMs))}</tr>`;
        }),
        'no apps deployed',
      ) +
      `<div class="muted" style="margin-top:6px">${Object.entries(SPLIT_COLOURS).map(([k, c]) => `<span class="legend-dot" style="background:${c}"></span>${k}`).join('')}</div>`;

    el('n-window').textContent = String(s.stats.windowSeconds);
    const errorsOf = new Map<string, string[]>();
    for (const e of s.metrics.errors) errorsOf.set(e.model, [...(errorsOf.get(e.model) ?? []), `${e.code} ${e.count}`]);
    el('n-keys').innerHTML = table(
      ['Model', 'App', '#Req/s', '#Requests', '#p50', '#p99', '#Queued', '#In flight', '#Batch', '#Errors', 'Errors by code (since start)'],
      s.stats.models.map(
        (m) => `<tr data-key="${esc(m.model)}|${esc(m.app)}"><td>${esc(m.model)}</td><td>${esc(m.app || '—')}</td>
          ${cell('rate', m.rate, fixed(m.rate, 2))}${cell('requests', m.requests, String(m.requests))}${cell('p50Ms', m.p50Ms, ms(m.p50Ms))}${cell('p99Ms', m.p99Ms, ms(m.p99Ms))}
          ${cell('queued', m.queued, String(m.queued))}${cell('inflight', m.inflight, String(m.inflight))}${cell('meanBatchSize', m.meanBatchSize, fixed(m.meanBatchSize, 1))}${cell('errors', m.errors, String(m.errors))}
          <td class="muted">${esc((errorsOf.get(m.model) ?? []).join(', ') || '—')}</td></tr>`,
      ),
      'no models',
    );

    const series = (pick: (m: DashboardSnapshot['stats']['models'][number]) => number) => Object.fromEntries(s.stats.models.map((m) => [key(m.model, m.app), pick(m)]));
    this.charts.rate!.push(s.at, series((m) => m.rate));
    this.charts.latency!.push(s.at, {
      ...Object.fromEntries(s.stats.models.map((m) => [`${key(m.model, m.app)} p50`, m.p50Ms])),
      ...Object.fromEntries(s.stats.models.map((m) => [`${key(m.model, m.app)} p99`, m.p99Ms])),
    });
    this.charts.queue!.push(s.at, Object.fromEntries(s.models.map((m) => [m.name, m.queued])));
    this.charts.batch!.push(s.at, series((m) => m.meanBatchSize));
    this.charts.errors!.push(s.at, Object.fromEntries(s.metrics.errors.map((e) => [`${e.model} ${e.code}`, e.count])));

    const llm = s.metrics.llm;
    el('n-llm-section').hidden = llm.length === 0;
    if (llm.length === 0) return;
    el('n-llm').innerHTML = table(
      ['Model', '#TTFT', '#TPOT', '#Tokens/s', '#Output tokens', '#Input tokens', '#Generations'],
      llm.map(
        (m) => `<tr data-llm="${esc(m.model)}"><td>${esc(m.model)}</td>${cell('ttftMeanMs', m.ttftMeanMs, m.ttftCount > 0 ? ms(m.ttftMeanMs) : '—')}${cell('tpotMeanMs', m.tpotMeanMs, m.tpotCount > 0 ? ms(m.tpotMeanMs) : '—')}
          ${cell('outputTokensPerSecond', m.outputTokensPerSecond, fixed(m.outputTokensPerSecond, 1))}${cell('outputTokens', m.outputTokens, String(m.outputTokens))}${cell('inputTokens', m.inputTokens, String(m.inputTokens))}${cell('ttftCount', m.ttftCount, String(m.ttftCount))}</tr>`,
      ),
      'no language models',
    );
    this.charts.tokens!.push(s.at, Object.fromEntries(llm.map((m) => [m.model, m.outputTokensPerSecond])));
    this.charts.ttft!.push(s.at, Object.fromEntries(llm.map((m) => [m.model, m.ttftMeanMs])));
  }
}
