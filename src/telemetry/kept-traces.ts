// The traces the tail sampler kept, remembered in a bounded ring for the dashboard's Traces view
// and GET /admin/traces. It sits in front of the OTLP exporter and sees exactly what is exported:
// a trace is here once it is kept, with the batch spans its requests shared.

import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { BATCH_SPAN, type DecisionReason } from './tail-sampler.js';

/** Traces remembered by default; each holds a handful of spans. */
export const KEPT_TRACES = 200;
/** Spans remembered per trace (a long streaming request cannot grow one entry forever). */
const MAX_SPANS_PER_TRACE = 256;

/** One span as the admin API serves it: epoch milliseconds, attributes as exported. */
export interface KeptSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  startMs: number;
  durationMs: number;
  error: boolean;
  attributes: Attributes;
  links: Array<{ traceId: string; spanId: string }>;
}

/** A kept trace in the list: its local root, why it was kept, and its span count. */
export interface KeptTraceSummary {
  traceId: string;
  /** The local root span's name (`infer ppocr-cls`, `POST /apps/ocr/…`). */
  name: string;
  /** The tail sampler's rule: error, slow or head. */
  reason: DecisionReason | undefined;
  startMs: number;
  durationMs: number;
  error: boolean;
  spans: number;
  app: string | undefined;
  model: string | undefined;
}

export interface KeptTrace {
  summary: KeptTraceSummary;
  spans: KeptSpan[];
  /** Batch spans (each in a trace of its own) that this trace's spans link to. */
  batches: KeptSpan[];
}

function ms(t: [number, number]): number {
  return t[0] * 1e3 + t[1] / 1e6;
}

function toKept(span: ReadableSpan): KeptSpan {
  const context = span.spanContext();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    startMs: ms(span.startTime),
    durationMs: ms(span.duration),
    error: span.status.code === SpanStatusCode.ERROR || span.attributes['error.type'] !== undefined,
    attributes: { ...span.attributes },
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

interface Entry {
  spans: KeptSpan[];
  reason: DecisionReason | undefined;
}

export class KeptTraces {
  private readonly traces = new Map<string, Entry>();
  private readonly batches = new Map<string, KeptSpan>();
  /** Reasons told by the sampler just before it enqueues the trace's spans. */
  private readonly reasons = new Map<string, DecisionReason>();

  constructor(readonly capacity: number = KEPT_TRACES) {}

  /** The sampler decided on a trace (called for every decision; only kept ones are remembered). */
  decided(traceId: string, kept: boolean, reason: DecisionReason): void {
    if (!kept) return;
    this.reasons.set(traceId, reason);
    if (this.reasons.size > this.capacity) this.reasons.delete(this.reasons.keys().next().value!);
  }

  /** Wraps the exporter: every exported span is remembered, then passed on. */
  wrap(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]) => {
        this.add(spans);
        exporter.export(spans, done);
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  add(spans: readonly ReadableSpan[]): void {
    for (const span of spans) {
      const kept = toKept(span);
      if (span.name.startsWith(BATCH_SPAN)) {
        this.batches.set(kept.spanId, kept);
        // Batches outnumber nothing: a kept trace links at most a few, so twice the traces is room.
        if (this.batches.size > this.capacity * 2) this.batches.delete(this.batches.keys().next().value!);
        continue;
      }
      let entry = this.traces.get(kept.traceId);
      if (entry === undefined) {
        entry = { spans: [], reason: this.reasons.get(kept.traceId) };
        this.reasons.delete(kept.traceId);
        this.traces.set(kept.traceId, entry);
        if (this.traces.size > this.capacity) this.traces.delete(this.traces.keys().next().value!);
      }
      if (entry.spans.length < MAX_SPANS_PER_TRACE) entry.spans.push(kept);
    }
  }

  /** Kept traces, newest first. */
  list(): KeptTraceSummary[] {
    return [...this.traces.entries()].reverse().map(([traceId, entry]) => summarize(traceId, entry));
  }

  get(traceId: string): KeptTrace | undefined {
    const entry = this.traces.get(traceId);
    if (entry === undefined) return undefined;
    const batches = new Map<string, KeptSpan>();
    for (const span of entry.spans) {
      for (const link of span.links) {
        const batch = this.batches.get(link.spanId);
        if (batch !== undefined) batches.set(batch.spanId, batch);
      }
    }
    return { summary: summarize(traceId, entry), spans: [...entry.spans].sort((a, b) => a.startMs - b.startMs), batches: [...batches.values()] };
  }
}

function summarize(traceId: string, entry: Entry): KeptTraceSummary {
  const ids = new Set(entry.spans.map((s) => s.spanId));
  // The local root: no parent, or a parent on another node (not among this trace's spans).
  const root = entry.spans.find((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId)) ?? entry.spans[0]!;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    traceId,
    name: root.name,
    reason: entry.reason,
    startMs: root.startMs,
    durationMs: root.durationMs,
    error: entry.spans.some((s) => s.error),
    spans: entry.spans.length,
    app: str(root.attributes['weft.app']),
    model: str(root.attributes['gen_ai.request.model']),
  };
}
