// One request as telemetry sees it: its span (only when tracing is on), the model and app it
// used, tokens, time to first token, the joules its work earned, and at its end the metrics,
// per-caller totals and rolling stats. With tracing off it is one small object and no spans.

import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { formatTraceParent, newSpanId, type TraceParent } from './traceparent.js';
import type { EnergyDevice, EnergySource, Share, ShareOwner } from './energy/index.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from './redact.js';

/** What a scope needs of the telemetry that opened it (Telemetry implements it). */
export interface TelemetryCore {
  readonly tracer: Tracer | undefined;
  readonly metrics: Metrics;
  readonly redactor: Redactor;
  now(): number;
  epochMs(perfMs: number): number;
  finish(scope: RequestScope, r: FinishedRequest): void;
  /** The caller label of a request's identity (callers.ts): bounded, hashed. */
  callerLabel(identity: CallerIdentity): string;
}

/** Who a request says it is, and once the API-key guard has decided, who it is. */
export interface CallerIdentity {
  /** The caller header's value. */
  tenant?: string;
  authorization?: string;
  /**
   * Set by the guard when the node has API keys: the key's tenant, or null when the request was
   * refused. Then the headers are not trusted: any caller could name any tenant.
   */
  verified?: string | null;
}

/** What a scope hands over when its request ends. */
export interface FinishedRequest {
  seconds: number;
  code: string | undefined;
  inputTokens: number;
  outputTokens: number;
  batchSize: number;
}

/** A child span the caller ends; a no-op when tracing is off. */
export interface ChildSpan {
  setAttributes(attributes: Attributes): void;
  end(error?: unknown): void;
}

const NO_SPAN: ChildSpan = { setAttributes: () => undefined, end: () => undefined };

/** What a finished model call reports (the engine's InferResult satisfies it). */
export interface ModelCallResult {
  batchSize: number;
  batchRequests: number;
  queueMs: number;
  computeMs: number;
}

/** The error fields telemetry reads; WeftError has them. */
interface CodedError {
  code?: string;
  message?: string;
}

export class RequestScope {
  readonly startedAt: number;
  operation = 'http';
  model: string | undefined;
  app = '';
  /**
   * Whose request this is, once a key let it in: the model queues serve tenants fairly by it
   * (engine/admission.ts), whether the call comes from a route or from an app's component.
   */
  fairShare: { tenant: string; weight: number } | undefined;
  /** The `traceparent` to answer with, if the request has a trace. */
  readonly traceparent: string | undefined;
  private readonly span: Span | undefined;
  private readonly context: Context | undefined;
  private callStartedAt = 0;
  private batchLink: SpanContext | undefined;
  private device: EnergyDevice | undefined;
  /** Joules settled so far, and shares of work whose intervals have not closed yet. */
  private joules = 0;
  private energySource: EnergySource | undefined;
  private openShares = 0;
  /** Set when the request ended with shares open: ends the span once they settle. */
  private endSpan: (() => void) | undefined;
  private readonly owner: ShareOwner = {
    opened: () => void this.openShares++,
    joules: (_device, source, joules) => {
      this.joules += joules;
      // A request that used a measured and an estimated device reports `estimated`.
      this.energySource = this.energySource === 'estimated' ? 'estimated' : source;
    },
    settled: () => {
      if (--this.openShares > 0 || !this.ended) return;
      this.allSettled();
    },
  };
  /** Waiting for the request's joules: resolved once it ended and every share settled. */
  private readonly settledWaiters: Array<(joules: number) => void> = [];
  private batchSize = 0;
  private inputTokens = 0;
  private outputTokens = 0;
  private firstTokenAt: number | undefined;
  private ended = false;
  /** Set by `deferEnd`: the response status and error the middleware saw, kept for the real end. */
  private deferred: { status: number; error: unknown } | undefined;

  private callerLabel: string | undefined;

  constructor(
    private readonly core: TelemetryCore,
    private readonly identity: CallerIdentity,
    method: string,
    path: string,
    incoming: TraceParent | undefined,
    parentContext: Context | undefined,
  ) {
    this.startedAt = core.now();
    const tracer = core.tracer;
    if (tracer === undefined || parentContext === undefined) {
      this.traceparent = incoming === undefined ? undefined : formatTraceParent({ ...incoming, spanId: newSpanId() });
      return;
    }
    this.span = tracer.startSpan(
      `${method} ${path}`,
      { kind: SpanKind.SERVER, startTime: core.epochMs(this.startedAt), attributes: { 'http.request.method': method, 'url.path': path } },
      parentContext,
    );
    this.context = trace.setSpan(parentContext, this.span);
    const sc = this.span.spanContext();
    this.traceparent = formatTraceParent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags });
  }

  /** The caller this request counts for, decided the first time it is asked (after the guard). */
  get caller(): string {
    return (this.callerLabel ??= this.core.callerLabel(this.identity));
  }

  /**
   * The API-key guard's verdict: the key's tenant names the caller, or null for a request it
   * refused. Called before any work of the request is counted.
   */
  identify(tenant: string | null): void {
    if (this.callerLabel === undefined) this.identity.verified = tenant;
  }

  /** The OpenTelemetry context of this request's span, for spans made elsewhere; undefined when tracing is off. */
  otelContext(): Context | undefined {
    return this.context;
  }

  /** The span context batch spans link to. */
  spanContext(): SpanContext | undefined {
    return this.span?.spanContext();
  }

  /** Names the GenAI operation (`infer`, `chat`, `embeddings`, …) and the model it runs. */
  setOperation(operation: string, model: string): void {
    this.operation = operation;
    this.model = model;
    this.span?.updateName(`${operation} ${model}`);
    this.span?.setAttributes({ 'gen_ai.operation.name': operation, 'gen_ai.request.model': model });
  }

  setApp(app: string, bundleDigest?: string): void {
    this.app = app;
    this.span?.setAttributes({ 'weft.app': app, ...(bundleDigest ? { 'weft.bundle.digest': bundleDigest } : {}) });
  }

  /** A child span of the request (an app handler, a tool call); a no-op when tracing is off. */
  startSpan(name: string, attributes?: Attributes): ChildSpan {
    const tracer = this.core.tracer;
    if (tracer === undefined || this.context === undefined) return NO_SPAN;
    const span = tracer.startSpan(name, { attributes }, this.context);
    return {
      setAttributes: (a) => void span.setAttributes(a),
      end: (error) => {
        if (error !== undefined) {
          span.setAttributes({ 'error.type': (error as CodedError).code ?? 'INTERNAL' });
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as CodedError).message });
        }
        span.end();
      },
    };
  }

  /** Call right before handing the request to the engine. */
  modelCallStarted(): void {
    this.callStartedAt = this.core.now();
  }

  /** Called by telemetry when the batch this request ran in ends (its busy ms count through `share`). */
  joinedBatch(device: EnergyDevice, _busyMs: number, batchSpan: SpanContext | undefined): void {
    this.device = device;
    this.batchLink = batchSpan;
  }

  /** Called by telemetry when a generation for this request starts on `device`. */
  generating(device: EnergyDevice): void {
    this.device = device;
  }

  /** This request's party to work on `model`, for the energy accountant. */
  share(model: string): Share {
    return { model, app: this.app, caller: this.caller, owner: this.owner };
  }

  /** Call when the engine returns: queue-time metric, and the model-call and queue spans. */
  modelCallDone(model: string, result: ModelCallResult): void {
    this.batchSize = result.batchSize;
    this.core.metrics.queueTime.observe({ model }, result.queueMs / 1000);
    const tracer = this.core.tracer;
    if (tracer === undefined || this.context === undefined) return;
    const end = this.core.now();
    const computeStart = end - result.computeMs;
    const queueStart = Math.max(this.callStartedAt, computeStart - result.queueMs);
    const call = tracer.startSpan(
      'inference.run',
      {
        startTime: this.core.epochMs(this.callStartedAt || queueStart),
        attributes: {
          'gen_ai.request.model': model,
          'weft.batch.size': result.batchSize,
          'weft.batch.requests': result.batchRequests,
          'weft.queue.ms': result.queueMs,
          'weft.compute.ms': result.computeMs,
          ...(this.device ? { 'weft.device': this.device } : {}),
        },
        links: this.batchLink ? [{ context: this.batchLink }] : [],
      },
      this.context,
    );
    tracer.startSpan('weft.queue', { startTime: this.core.epochMs(queueStart) }, trace.setSpan(this.context, call)).end(this.core.epochMs(computeStart));
    call.end(this.core.epochMs(end));
  }

  /** Prompt and completion tokens recorded so far (a tenant's token budget is charged with them). */
  tokensUsed(): number {
    return this.inputTokens + this.outputTokens;
  }

  recordTokens(input: number, output: number): void {
    this.inputTokens += input;
    this.outputTokens += output;
  }

  /**
   * A generation the engine ran for this request (for a route or a component): its tokens and
   * GenAI timings, labelled with the model it ran.
   */
  generationDone(r: { model: string; operation: string; ttftMs: number | undefined; tpotMs: number | undefined; promptTokens: number; completionTokens: number }): void {
    this.recordTokens(r.promptTokens, r.completionTokens);
    const labels = { gen_ai_operation_name: r.operation, gen_ai_request_model: r.model };
    if (r.ttftMs !== undefined) this.core.metrics.timeToFirstToken.observe(labels, r.ttftMs / 1000);
    if (r.tpotMs !== undefined) this.core.metrics.timePerOutputToken.observe(labels, r.tpotMs / 1000);
  }

  /** Call when the first output token is ready (streaming routes). */
  firstToken(): void {
    this.firstTokenAt ??= this.core.now();
  }

  /** Records prompt or completion text on the span, redacted, only when capture is on. */
  capture(attribute: 'gen_ai.input.messages' | 'gen_ai.output.messages' | 'gen_ai.system_instructions', text: string): void {
    if (this.span === undefined) return;
    const captured = this.core.redactor.capture(text);
    if (captured !== undefined) this.span.setAttribute(attribute, captured);
  }

  /**
   * For streaming responses, which outlive the route handler: the middleware's end is held, and
   * the request ends when the returned function is called (with the stream's error, if any).
   */
  deferEnd(): (error?: unknown) => void {
    this.deferred ??= { status: 0, error: undefined };
    return (error) => {
      const held = this.deferred!;
      this.deferred = undefined;
      this.end(held.status || 200, error ?? held.error);
    };
  }

  /** Ends the request: metrics, caller totals, stats and the span. Safe to call twice. */
  end(status: number, error?: unknown): void {
    if (this.ended) return;
    if (this.deferred !== undefined) {
      this.deferred = { status, error };
      return;
    }
    this.ended = true;
    const done = this.core.now();
    const seconds = (done - this.startedAt) / 1000;
    const code = error === undefined ? (status >= 400 ? `HTTP_${status}` : undefined) : ((error as CodedError).code ?? 'INTERNAL');
    this.core.finish(this, { seconds, code, inputTokens: this.inputTokens, outputTokens: this.outputTokens, batchSize: this.batchSize });
    if (this.model !== undefined && this.firstTokenAt !== undefined) {
      const labels = { gen_ai_operation_name: this.operation, gen_ai_request_model: this.model };
      this.core.metrics.timeToFirstToken.observe(labels, (this.firstTokenAt - this.startedAt) / 1000);
      if (this.outputTokens > 1) this.core.metrics.timePerOutputToken.observe(labels, (done - this.firstTokenAt) / 1000 / (this.outputTokens - 1));
    }
    const span = this.span;
    // The span carries the request's settled joules, so it ends when the meter intervals
    // covering its work have closed (one --energy-interval at most after the response).
    if (span !== undefined) this.endSpan = () => this.finishSpan(span, status, error, code, done);
    if (this.openShares === 0) this.allSettled();
  }

  /** The joules the request's work was attributed, once it has ended and its meter intervals closed (a tenant's monthly budget counts them). */
  joulesSettled(): Promise<number> {
    if (this.ended && this.openShares === 0) return Promise.resolve(this.joules);
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private allSettled(): void {
    const end = this.endSpan;
    this.endSpan = undefined;
    end?.();
    for (const resolve of this.settledWaiters.splice(0)) resolve(this.joules);
  }

  private finishSpan(span: Span, status: number, error: unknown, code: string | undefined, done: number): void {
    const attributes: Attributes = { 'http.response.status_code': status };
    if (this.model !== undefined) attributes['gen_ai.response.model'] = this.model;
    if (this.inputTokens > 0) attributes['gen_ai.usage.input_tokens'] = this.inputTokens;
    if (this.outputTokens > 0) attributes['gen_ai.usage.output_tokens'] = this.outputTokens;
    if (this.device !== undefined) attributes['weft.device'] = this.device;
    if (this.energySource !== undefined) {
      attributes['weft.energy.joules'] = this.joules;
      attributes['weft.energy.source'] = this.energySource;
    }
    if (this.caller) attributes['weft.caller'] = this.caller;
    if (code !== undefined) attributes['error.type'] = code;
    span.setAttributes(attributes);
    // HTTP server conventions: only 5xx makes a server span an error; the tail sampler still
    // keeps 4xx requests through their error.type.
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as CodedError | undefined)?.message });
    span.end(this.core.epochMs(done));
  }
}
