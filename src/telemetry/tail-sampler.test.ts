// The head + tail sampler on a real OpenTelemetry TracerProvider: whole traces kept for errors,
// slowness or a head decision, dropped otherwise, and batch spans exported with a kept member.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { BATCH_REQUESTS, BATCH_SPAN, TailSamplingProcessor, type DecisionReason } from './tail-sampler.js';
import { HeadSampler, traceIdKept } from './tracing.js';

function setup(ratio: number, slowMs = 1000) {
  const exported: ReadableSpan[] = [];
  const decisions: Array<[boolean, DecisionReason]> = [];
  const exporter: SpanExporter = {
    export: (spans, done) => {
      exported.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const processor = new TailSamplingProcessor(exporter, { slowMs, onDecision: (k, r) => decisions.push([k, r]), onExportError: (e) => assert.fail(e) });
  const provider = new TracerProvider({ sampler: new HeadSampler('parentbased_traceidratio', ratio), spanProcessors: [processor] });
  return { tracer: provider.getTracer('test'), exported, decisions, flush: () => provider.forceFlush() };
}

function request(tracer: Tracer, opts: { error?: boolean; ms?: number; parentSampled?: boolean } = {}) {
  const parent =
    opts.parentSampled === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, {
          traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          spanId: 'bbbbbbbbbbbbbbbb',
          traceFlags: opts.parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
        });
  const start = Date.now();
  const root = tracer.startSpan('infer m', { startTime: start }, parent);
  const child = tracer.startSpan('inference.run', { startTime: start }, trace.setSpan(parent, root));
  return {
    root,
    child,
    end() {
      child.end(start + 1);
      if (opts.error) root.setStatus({ code: SpanStatusCode.ERROR });
      root.end(start + (opts.ms ?? 5));
    },
  };
}

describe('tail sampling', () => {
  it('drops unsampled traces but keeps errors, slow ones and sampled parents, whole', async () => {
    const { tracer, exported, decisions, flush } = setup(0, 1000);
    request(tracer).end();
    const failed = request(tracer, { error: true });
    failed.end();
    const slow = request(tracer, { ms: 1500 });
    slow.end();
    const sampled = request(tracer, { parentSampled: true });
    sampled.end();
    await flush();
    assert.deepEqual(decisions, [
      [false, 'sampled_out'],
      [true, 'error'],
      [true, 'slow'],
      [true, 'head'],
    ]);
    const traces = new Set(exported.map((s) => s.spanContext().traceId));
    assert.equal(traces.size, 3);
    assert.equal(exported.length, 6, 'each kept trace with its child span');
  });

  it('exports a batch span once one of its requests is kept, and forgets it after all decided', async () => {
    const { tracer, exported, flush } = setup(0);
    const a = request(tracer);
    const b = request(tracer, { error: true });
    const batch = tracer.startSpan(`${BATCH_SPAN} m`, { links: [{ context: a.root.spanContext() }, { context: b.root.spanContext() }], attributes: { [BATCH_REQUESTS]: 2 } }, ROOT_CONTEXT);
    batch.end();
    a.child.addLink({ context: batch.spanContext() });
    b.child.addLink({ context: batch.spanContext() });
    a.end();
    await flush();
    assert.equal(exported.length, 0, 'nothing kept yet');
    b.end();
    await flush();
    assert.deepEqual(exported.map((s) => s.name).sort(), ['inference.run', 'infer m', `${BATCH_SPAN} m`].sort());
  });

  it('decides the head ratio from the trace id alone', () => {
    assert.equal(traceIdKept('0'.repeat(24) + '00000000', 0.5), true);
    assert.equal(traceIdKept('0'.repeat(24) + 'ffffffff', 0.5), false);
    assert.equal(traceIdKept('0'.repeat(24) + 'ffffffff', 1), true);
    let kept = 0;
    for (let i = 0; i < 1000; i++) if (traceIdKept((i * 2654435761).toString(16).padStart(32, '0').slice(-32), 0.25)) kept++;
    assert.ok(kept > 150 && kept < 350, `kept ${kept} of 1000 at 0.25`);
  });

  it('follows the decision for spans that end after their request', async () => {
    const { tracer, exported, flush } = setup(0);
    const kept = request(tracer, { error: true });
    const dropped = request(tracer);
    kept.end();
    dropped.end();
    tracer.startSpan('late', {}, trace.setSpan(ROOT_CONTEXT, kept.root)).end();
    tracer.startSpan('late', {}, trace.setSpan(ROOT_CONTEXT, dropped.root)).end();
    await flush();
    const late = exported.filter((s) => s.name === 'late');
    assert.equal(late.length, 1);
    assert.equal(late[0]!.spanContext().traceId, kept.root.spanContext().traceId);
  });
});
