// Head + tail sampling on the node. Every request span is recorded; the head sampler only marks
// whether the trace is wanted anyway (trace-id ratio, or an upstream that sampled it). When a
// request's local root span ends, the whole trace is kept if it failed, was slow, or was marked
// by the head sampler, and is dropped otherwise. A batch span (shared by the requests that ran
// together, in a trace of its own) is exported once any of its requests is kept.

import { SpanStatusCode, TraceFlags, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

export const BATCH_SPAN = 'weft.batch';
export const BATCH_REQUESTS = 'weft.batch.requests';

/** Bounds on what waits for a decision, so an unfinished trace cannot grow memory forever. */
const MAX_PENDING_TRACES = 4096;
const MAX_PENDING_BATCHES = 1024;
/** Decisions remembered for spans that end after their request (streams, background work). */
const MAX_DECIDED = 4096;
const MAX_QUEUE = 4096;
const EXPORT_BATCH = 512;
const EXPORT_DELAY_MS = 1000;

export const DecisionReasons = ['error', 'slow', 'head', 'sampled_out', 'overflow'] as const;
export type DecisionReason = (typeof DecisionReasons)[number];

export interface TailSamplingOptions {
  slowMs: number;
  onDecision: (kept: boolean, reason: DecisionReason, traceId: string) => void;
  onExportError: (err: Error) => void;
}

interface PendingBatch {
  span: ReadableSpan;
  remaining: number;
  exported: boolean;
}

function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1e3 + span.duration[1] / 1e6;
}

export class TailSamplingProcessor implements SpanProcessor {
  private readonly pending = new Map<string, ReadableSpan[]>();
  private readonly batches = new Map<string, PendingBatch>();
  private readonly decided = new Map<string, boolean>();
  private queue: ReadableSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private exporting: Promise<void> = Promise.resolve();

  constructor(
    private readonly exporter: SpanExporter,
    private readonly options: TailSamplingOptions,
  ) {}

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (span.name.startsWith(BATCH_SPAN)) return this.batchEnded(span);
    const traceId = span.spanContext().traceId;
    const parent = span.parentSpanContext;
    if (parent !== undefined && !parent.isRemote) {
      const late = this.decided.get(traceId);
      if (late !== undefined) {
        if (late) this.enqueue([span]);
        return;
      }
      const spans = this.pending.get(traceId);
      if (spans) spans.push(span);
      else {
        if (this.pending.size >= MAX_PENDING_TRACES) {
          const dropped = this.pending.keys().next().value!;
          this.pending.delete(dropped);
          this.options.onDecision(false, 'overflow', dropped);
        }
        this.pending.set(traceId, [span]);
      }
      return;
    }
    const spans = this.pending.get(traceId) ?? [];
    this.pending.delete(traceId);
    spans.push(span);
    const reason: DecisionReason =
      span.status.code === SpanStatusCode.ERROR || span.attributes['error.type'] !== undefined
        ? 'error'
        : durationMs(span) >= this.options.slowMs
          ? 'slow'
          : (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0
            ? 'head'
            : 'sampled_out';
    const keep = reason !== 'sampled_out';
    this.options.onDecision(keep, reason, traceId);
    if (this.decided.size >= MAX_DECIDED) this.decided.delete(this.decided.keys().next().value!);
    this.decided.set(traceId, keep);
    if (keep) this.enqueue(spans);
    for (const s of spans) {
      for (const link of s.links) {
        const batch = this.batches.get(link.context.spanId);
        if (batch === undefined) continue;
        if (keep && !batch.exported) {
          batch.exported = true;
          this.enqueue([batch.span]);
        }
        if (--batch.remaining <= 0) this.batches.delete(link.context.spanId);
      }
    }
  }

  private batchEnded(span: ReadableSpan): void {
    const failed = span.status.code === SpanStatusCode.ERROR;
    if (failed) this.enqueue([span]);
    if (this.batches.size >= MAX_PENDING_BATCHES) this.batches.delete(this.batches.keys().next().value!);
    this.batches.set(span.spanContext().spanId, { span, remaining: Number(span.attributes[BATCH_REQUESTS] ?? 1), exported: failed });
  }

  private enqueue(spans: ReadableSpan[]): void {
    const room = MAX_QUEUE - this.queue.length;
    this.queue.push(...spans.slice(0, Math.max(0, room)));
    if (this.queue.length >= EXPORT_BATCH) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), EXPORT_DELAY_MS);
      this.timer.unref();
    }
  }

  /** Exports what is queued; exports run one at a time. */
  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const spans = this.queue;
    this.queue = [];
    if (spans.length === 0) return this.exporting;
    this.exporting = this.exporting.then(
      () =>
        new Promise<void>((resolve) => {
          this.exporter.export(spans, (result) => {
            if (result.error !== undefined || result.code !== 0) this.options.onExportError(result.error ?? new Error('OTLP export failed'));
            resolve();
          });
        }),
    );
    return this.exporting;
  }

  async forceFlush(): Promise<void> {
    await this.flush();
    await this.exporter.forceFlush?.();
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.exporter.shutdown();
  }
}
