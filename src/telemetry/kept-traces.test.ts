// The ring of kept traces behind the real tail sampler: what the sampler keeps is remembered with
// its reason and the batch it shared, what it drops is not, and the ring stays bounded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { BATCH_REQUESTS, BATCH_SPAN, TailSamplingProcessor } from './tail-sampler.js';
import { HeadSampler } from './tracing.js';
import { KeptTraces } from './kept-traces.js';

function setup(capacity: number) {
  let exported = 0;
  const exporter: SpanExporter = {
    export: (spans, done) => {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const kept = new KeptTraces(capacity);
  const processor = new TailSamplingProcessor(kept.wrap(exporter), { slowMs: 1000, onDecision: (k, r, id) => kept.decided(id, k, r), onExportError: (e) => assert.fail(e) });
  // Ratio 0: only the tail rules keep a trace.
  const provider = new TracerProvider({ sampler: new HeadSampler('traceidratio', 0), spanProcessors: [processor] });
  return { tracer: provider.getTracer('test'), kept, exported: () => exported, flush: () => provider.forceFlush() };
}

describe('kept traces', () => {
  it('remembers kept traces with their reason, and not the dropped ones', async () => {
    const { tracer, kept, exported, flush } = setup(10);
    const start = Date.now();
    const failed = tracer.startSpan('infer m', { startTime: start }, ROOT_CONTEXT);
    const call = tracer.startSpan('inference.run', { startTime: start }, trace.setSpan(ROOT_CONTEXT, failed));
    const fast = tracer.startSpan('infer m', { startTime: start }, ROOT_CONTEXT);
    call.end(start + 3);
    failed.setStatus({ code: SpanStatusCode.ERROR });
    failed.end(start + 4);
    fast.end(start + 4);
    await flush();

    const list = kept.list();
    assert.equal(list.length, 1, 'the fast, unsampled request is dropped');
    const [summary] = list;
    assert.equal(summary!.traceId, failed.spanContext().traceId);
    assert.equal(summary!.reason, 'error');
    assert.equal(summary!.name, 'infer m');
    assert.equal(summary!.error, true);
    assert.equal(summary!.spans, 2);
    assert.ok(Math.abs(summary!.durationMs - 4) < 0.01);
    const full = kept.get(summary!.traceId)!;
    assert.deepEqual(full.spans.map((s) => s.name).sort(), ['infer m', 'inference.run']);
    assert.equal(exported(), 2, 'what is remembered is what went to the exporter');
    assert.equal(kept.get(fast.spanContext().traceId), undefined);
  });

  it('links a kept request to the batch it ran in', async () => {
    const { tracer, kept, flush } = setup(10);
    const start = Date.now();
    const root = tracer.startSpan('infer m', { startTime: start }, ROOT_CONTEXT);
    const batch = tracer.startSpan(`${BATCH_SPAN} m`, { startTime: start, links: [{ context: root.spanContext() }], attributes: { [BATCH_REQUESTS]: 1 } }, ROOT_CONTEXT);
    batch.end(start + 1);
    const call = tracer.startSpan('inference.run', { startTime: start, links: [{ context: batch.spanContext() }] }, trace.setSpan(ROOT_CONTEXT, root));
    call.end(start + 2);
    root.end(start + 1500);
    await flush();
    const full = kept.get(root.spanContext().traceId)!;
    assert.equal(full.summary.reason, 'slow');
    assert.deepEqual(full.batches.map((b) => b.spanId), [batch.spanContext().spanId]);
  });

  it('keeps at most its capacity, newest first', async () => {
    const { tracer, kept, flush } = setup(3);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const span = tracer.startSpan('infer m', {}, ROOT_CONTEXT);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      ids.push(span.spanContext().traceId);
    }
    await flush();
    assert.deepEqual(kept.list().map((t) => t.traceId), ids.slice(2).reverse());
  });
});
