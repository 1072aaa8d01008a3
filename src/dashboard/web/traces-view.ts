// The Traces view: the requests the tail sampler kept (failed, slow, head-sampled), newest first;
// one opens as a span waterfall (request → sandbox → queue → batch → inference) with the batch
// it shared. Spans come from GET /admin/traces/{traceId}; with tracing off the view says so.

import type { KeptSpan, KeptTrace } from '../../telemetry/index.js';
import type { DashboardSnapshot } from '../types.js';
import { badge, esc, ms, table } from './format.js';

const SHOWN_ATTRIBUTES = ['gen_ai.request.model', 'weft.app', 'weft.batch.size', 'weft.batch.requests', 'weft.queue.ms', 'weft.compute.ms', 'weft.device', 'error.type', 'http.response.status_code', 'weft.energy.joules', 'weft.energy.source'];

export class TracesView {
  private selected: string | undefined;
  private listHtml = '';

  constructor(
    private readonly root: HTMLElement,
    private readonly fetchJson: (path: string) => Promise<unknown>,
  ) {
    root.innerHTML = `<div class="traces">
      <div class="card"><h2>Kept traces <span class="muted">— newest first; click one to open it</span></h2><div id="t-list" class="scroll"></div></div>
      <div class="card" id="t-detail-card"><h2>Trace <code id="t-id"></code></h2><div id="t-detail" class="waterfall"><div class="empty">Pick a trace on the left to see its spans: request → sandbox → queue → batch → inference.</div></div></div></div>`;
    root.querySelector('#t-list')!.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('tr[data-trace]');
      if (row) void this.open(row.dataset.trace!);
    });
  }

  update(s: DashboardSnapshot): void {
    const list = this.root.querySelector<HTMLElement>('#t-list')!;
    if (!s.traces.enabled) {
      const html = `<div class="empty">Tracing is off on this node, so it keeps no traces. Start it with <code>OTEL_TRACES_EXPORTER=otlp</code> and
        <code>OTEL_EXPORTER_OTLP_ENDPOINT</code> (a collector); the last traces it keeps are then shown here as well as exported.</div>`;
      if (html !== this.listHtml) list.innerHTML = this.listHtml = html;
      return;
    }
    const html = table(
      ['Time', 'Request', 'Kept because', '#Duration', '#Spans'],
      s.traces.recent.map(
        (t) => `<tr class="clickable${t.traceId === this.selected ? ' selected' : ''}" data-trace="${esc(t.traceId)}"><td>${esc(new Date(t.startMs).toLocaleTimeString())}</td><td>${esc(t.name)}${t.app ? ` <span class="muted">app ${esc(t.app)}</span>` : ''}</td><td>${badge(t.reason === 'error' ? 'error' : (t.reason ?? 'head'), t.reason === 'head' ? 'sampled' : (t.reason ?? 'kept'))}</td>
          <td class="n" data-figure="durationMs" data-value="${t.durationMs}">${esc(ms(t.durationMs))}</td><td class="n">${t.spans}</td></tr>`,
      ),
      'no kept traces yet: the tail sampler keeps failed and slow requests, and those the head sampler picked',
    );
    if (html !== this.listHtml) list.innerHTML = this.listHtml = html;
  }

  async open(traceId: string): Promise<void> {
    this.selected = traceId;
    const trace = (await this.fetchJson(`/admin/traces/${encodeURIComponent(traceId)}`)) as KeptTrace;
    for (const row of this.root.querySelectorAll<HTMLElement>('tr[data-trace]')) row.classList.toggle('selected', row.dataset.trace === traceId);
    this.root.querySelector('#t-id')!.textContent = traceId;
    this.root.querySelector('#t-detail')!.innerHTML = waterfall(trace);
  }
}

/** Attribute values as sent, long fractions shortened for reading. */
function attribute(v: unknown): string {
  return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(4))) : String(v);
}

function depthOf(span: KeptSpan, byId: Map<string, KeptSpan>): number {
  let depth = 0;
  for (let p = span.parentSpanId; p !== undefined && byId.has(p) && depth < 20; p = byId.get(p)!.parentSpanId) depth++;
  return depth;
}

function waterfall(trace: KeptTrace): string {
  const all = [...trace.spans, ...trace.batches];
  const start = Math.min(...all.map((s) => s.startMs));
  const end = Math.max(...all.map((s) => s.startMs + s.durationMs));
  const total = Math.max(0.001, end - start);
  const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
  const row = (s: KeptSpan, depth: number, batch: boolean) => {
    const left = (100 * (s.startMs - start)) / total;
    const width = (100 * s.durationMs) / total;
    const attrs = SHOWN_ATTRIBUTES.filter((k) => s.attributes[k] !== undefined).map((k) => `${k}=${esc(attribute(s.attributes[k]))}`).join('  ');
    return `<div class="row" data-span="${esc(s.name)}"><div class="name" style="padding-left:${depth * 16}px" title="${esc(s.name)}">${batch ? '⇄ ' : ''}${esc(s.name)}</div>
      <div class="track"><div class="span${s.error ? ' err' : ''}${batch ? ' batch' : ''}" style="left:${left}%;width:${width}%"></div></div><div class="n">${esc(ms(s.durationMs))}</div>
      ${attrs || batch ? `<div class="attrs">${batch ? 'shared batch, a trace of its own: ' : ''}${attrs}</div>` : ''}</div>`;
  };
  // Children under their parents, in start order; each shared batch right under the span linking it.
  const children = new Map<string | undefined, KeptSpan[]>();
  for (const s of trace.spans) {
    const parent = s.parentSpanId !== undefined && byId.has(s.parentSpanId) ? s.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const batches = new Map(trace.batches.map((b) => [b.spanId, b]));
  const out: string[] = [];
  const walk = (parent: string | undefined) => {
    for (const s of children.get(parent) ?? []) {
      const depth = depthOf(s, byId);
      out.push(row(s, depth, false));
      walk(s.spanId);
      // The shared batch after the queue wait it followed.
      for (const link of s.links) {
        const b = batches.get(link.spanId);
        if (b) out.push(row(b, depth + 1, true));
      }
    }
  };
  walk(undefined);
  return out.join('');
}
