// The tracer of a node with tracing on: an OTLP/HTTP exporter (protobuf or JSON) behind the tail
// sampler, a head sampler as OTEL_TRACES_SAMPLER names it, and the service resource. Nothing is
// registered globally: spans are made through the Telemetry object and contexts passed along.

import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { trace, TraceFlags, type Context, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { TailSamplingProcessor, type DecisionReason } from './tail-sampler.js';
import type { KeptTraces } from './kept-traces.js';

export type HeadSamplerName = 'parentbased_traceidratio' | 'traceidratio' | 'parentbased_always_on' | 'always_on' | 'always_off';

export interface TracingOptions {
  /** OTLP/HTTP URL spans are posted to (…/v1/traces). */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  serviceVersion: string;
  sampler: HeadSamplerName;
  ratio: number;
  slowMs: number;
  onDecision: (kept: boolean, reason: DecisionReason, traceId: string) => void;
  /** Remembers the kept traces for the admin API and the dashboard. */
  keptTraces?: KeptTraces;
  onExportError: (err: Error) => void;
}

export interface Tracing {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/** Deterministic in the trace id, so every node that sees a trace decides alike. */
export function traceIdKept(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return parseInt(traceId.slice(-8), 16) / 0x1_0000_0000 < ratio;
}

/**
 * Marks the head decision in the sampled flag, but records every span (RECORD, never DROP) so
 * the tail rules can still keep errors and slow requests.
 */
export class HeadSampler implements Sampler {
  constructor(
    private readonly name: HeadSamplerName,
    private readonly ratio: number,
  ) {}

  shouldSample(context: Context, traceId: string): SamplingResult {
    const parent = trace.getSpanContext(context);
    const parentSampled = parent !== undefined && (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
    let keep: boolean;
    if (parent !== undefined && (!parent.isRemote || this.name.startsWith('parentbased'))) keep = parentSampled;
    else if (this.name === 'always_off') keep = false;
    else if (this.name.endsWith('always_on')) keep = true;
    else keep = traceIdKept(traceId, this.ratio);
    return { decision: keep ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.RECORD };
  }

  toString(): string {
    return `HeadSampler{${this.name},${this.ratio}}`;
  }
}

export function createTracing(o: TracingOptions): Tracing {
  const exporter = o.protocol === 'http/json' ? new JsonExporter({ url: o.url }) : new ProtoExporter({ url: o.url });
  const processor = new TailSamplingProcessor(o.keptTraces?.wrap(exporter) ?? exporter, { slowMs: o.slowMs, onDecision: o.onDecision, onExportError: o.onExportError });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName, 'service.version': o.serviceVersion }),
    sampler: new HeadSampler(o.sampler, o.ratio),
    spanProcessors: [processor],
  });
  return { tracer: provider.getTracer('weft', o.serviceVersion), shutdown: () => provider.shutdown() };
}
