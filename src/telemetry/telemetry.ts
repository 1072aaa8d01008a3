// The node's telemetry, built once in node.ts and passed down: request scopes for the API, the
// batch and model-lifecycle observer for the engine, metrics for /metrics, rolling stats for
// /admin/stats, energy meters and their accountant. Tracing exists only when an exporter is
// configured; otherwise no span object is ever made.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ErrorCode, WeftError } from '../errors.js';
import type { NodeConfig } from '../config/index.js';
import type { Logger } from './log.js';
import { Metrics, type LanguageModelLoad, type ModelGaugeSource } from './metrics.js';
import { RequestScope, type CallerIdentity, type FinishedRequest, type TelemetryCore } from './request-scope.js';
import { parseTraceParent } from './traceparent.js';
import { createRedactor, type Redactor } from './redact.js';
import { Callers, INTERNAL, loadCallerSecret, type CallerTotals } from './callers.js';
import { RollingStats, WINDOW_MS, type KeyStats } from './stats.js';
import { createTracing, type Tracing } from './tracing.js';
import { BATCH_REQUESTS, BATCH_SPAN, type DecisionReason } from './tail-sampler.js';
import { KeptTraces } from './kept-traces.js';
import { EnergyAccountant, IDLE, openMeters, type DevicePower, type EnergyDevice, type EnergySource, type Share, type Spawner, type Work } from './energy/index.js';

/** What the engine tells telemetry about a batch: its requests' scopes and rows. */
export interface BatchMember {
  scope?: RequestScope | undefined;
  rows: number;
}

/** The engine's view of telemetry (the scheduler, the model manager and the LLM service call these). */
export interface EngineObserver {
  /** A batch starts on `device`; the returned function is called when it ends. */
  batchStarted(model: string, device: EnergyDevice, members: readonly BatchMember[], rows: number): (error?: Error) => void;
  /**
   * A generation (or embedding) for `scope` starts running on `device` (undefined: not on this
   * node, an upstream); the returned function is called when it ends. Concurrent generations of
   * one model share its busy time equally. Optional: observers of batches only leave it out.
   */
  generationStarted?(model: string, device: EnergyDevice | undefined, scope: RequestScope | undefined): (error?: Error) => void;
  modelLoaded(model: string, device: string, ms: number): void;
  modelUnloaded(model: string, reason: 'memory budget' | 'keep_alive'): void;
}

export interface RequestInfo {
  method: string;
  path: string;
  traceparent: string | undefined;
  /** Value of the caller header (tenant). */
  tenant: string | undefined;
  authorization: string | undefined;
}

export interface TelemetryOptions {
  version: string;
  log: Logger;
  /** nvidia-smi runner (tests fake it). */
  spawn?: Spawner;
  /** Whether models may run on a GPU. */
  gpu?: boolean;
}

/** A tenant named in `--caller-names` and its caller id. */
export interface CallerName {
  tenant: string;
  caller: string;
}

export interface AdminStats {
  /** Seconds the figures cover. */
  windowSeconds: number;
  models: Array<KeyStats & { queued: number; inflight: number }>;
  power: DevicePower[];
  callers: CallerTotals[];
  /** Ids of the tenants named in `--caller-names`. */
  callerNames: CallerName[];
  tracing: { enabled: boolean; kept: number; dropped: number };
}

/** The parts of Telemetry a RequestScope uses. */
/** `gen_ai.operation.name` of a request to an app route (it may call several models, or none). */
export const APP_OPERATION = 'app';

/** The /admin/stats row a request or its joules count in: its app's row, else its model's. */
function statsRow(model: string, app: string): [model: string, app: string] {
  return app === '' ? [model, ''] : ['', app];
}

/** Errors that mean the request named a model or app this node does not serve. */
const UNKNOWN_NAME_CODES: ReadonlySet<string> = new Set([ErrorCode.ModelNotFound, ErrorCode.AppNotFound]);
/** The one label such requests count under. */
export const UNKNOWN_NAME = '_unknown';

export class Telemetry implements TelemetryCore, EngineObserver {
  readonly metrics: Metrics;
  readonly redactor: Redactor;
  readonly callers: Callers;
  readonly rolling = new RollingStats();
  private models: () => readonly ModelGaugeSource[] = () => [];
  private languageModels: () => readonly LanguageModelLoad[] = () => [];
  private readonly kept = { kept: 0, dropped: 0 };
  private exportErrorLogged = false;

  private readonly tracing: Tracing | undefined;
  /** The kept traces, remembered while tracing is on (undefined when it is off). */
  readonly keptTraces: KeptTraces | undefined;
  private accountant: EnergyAccountant | undefined;
  /** Running generations per model and device: one piece of work they share. */
  private readonly generations = new Map<string, { work: Work; running: number }>();

  private constructor(
    private readonly config: Readonly<NodeConfig>,
    private readonly log: Logger,
    version: string,
    callerSecret: Buffer,
  ) {
    this.metrics = new Metrics(() => this.models(), () => this.languageModels(), config.metricsCompat);
    this.redactor = createRedactor(config.captureContent, config.redactPatterns ?? []);
    this.callers = new Callers(config.callerTopK, callerSecret, config.callerNames ?? []);
    const keptTraces = config.tracesExporter === 'otlp' ? new KeptTraces() : undefined;
    this.keptTraces = keptTraces;
    this.tracing =
      keptTraces !== undefined
        ? createTracing({
            url: config.otlpTracesEndpoint ?? `${config.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`,
            protocol: config.otlpProtocol,
            serviceName: config.serviceName,
            serviceVersion: version,
            sampler: config.tracesSampler,
            ratio: config.tracesSamplerArg,
            slowMs: config.traceSlowThreshold,
            keptTraces,
            onDecision: (kept, reason, traceId) => {
              keptTraces.decided(traceId, kept, reason);
              this.traceDecided(kept, reason);
            },
            onExportError: (err) => this.exportFailed(err),
          })
        : undefined;
  }

  static async create(config: Readonly<NodeConfig>, options: TelemetryOptions): Promise<Telemetry> {
    if (config.tracesSamplerArg > 1) {
      throw new WeftError(ErrorCode.InvalidConfig, `setting 'tracesSamplerArg' (OTEL_TRACES_SAMPLER_ARG): ${config.tracesSamplerArg} is not a ratio from 0 to 1`, {
        field: 'tracesSamplerArg',
      });
    }
    const telemetry = new Telemetry(config, options.log, options.version, await loadCallerSecret(config.dataDir));
    await telemetry.startEnergy(options);
    return telemetry;
  }

  private async startEnergy(options: TelemetryOptions): Promise<void> {
    const meters = await openMeters({
      mode: this.config.energy,
      raplRoot: this.config.raplRoot,
      nvidiaSmi: this.config.nvidiaSmi,
      cpuWattsPerCore: this.config.cpuWattsPerCore,
      idleWatts: this.config.idleWatts,
      gpuTdpWatts: this.config.gpuTdpWatts,
      gpu: options.gpu ?? this.config.device === 'cuda',
      gpuBusyMs: () => this.accountant?.busyMs('cuda') ?? 0,
      spawn: options.spawn,
      log: this.log,
    });
    const accountant = new EnergyAccountant(
      meters,
      {
        joules: (share, device, source, joules) => this.shareJoules(share, device, source, joules),
        idle: (device, source, joules) => this.metrics.energy.inc({ model: IDLE, app: '', device, source }, joules),
        node: (device, source, joules, watts) => {
          this.metrics.nodeEnergy.inc({ device, source }, joules);
          this.metrics.power.set({ device, source }, watts);
        },
      },
      (meter, err) => this.log.warn('energy meter failed; no longer read', { meter: meter.name, device: meter.device, error: err.message }),
    );
    this.accountant = accountant;
    await accountant.start(Math.max(10, this.config.energyInterval));
  }

  get tracer(): Tracer | undefined {
    return this.tracing?.tracer;
  }

  now(): number {
    return performance.now();
  }

  epochMs(perfMs: number): number {
    return performance.timeOrigin + perfMs;
  }

  /** Whether a model of this name is in the node's engine (asked on failed requests only). */
  private serves(name: string): boolean {
    return this.models().some((m) => m.name === name) || this.languageModels().some((m) => m.name === name);
  }

  /** Where /metrics and /admin/stats read per-model queue, in-flight and memory figures (every model kind). */
  watchModels(source: () => readonly ModelGaugeSource[]): void {
    this.models = source;
  }

  /** Where /metrics reads the model-server protocol gauges of the language models (waiting, running, KV cache). */
  watchLanguageModels(source: () => readonly LanguageModelLoad[]): void {
    this.languageModels = source;
  }

  startRequest(info: RequestInfo): RequestScope {
    const incoming = parseTraceParent(info.traceparent);
    let parent = undefined;
    if (this.tracing !== undefined) {
      parent =
        incoming === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, { traceId: incoming.traceId, spanId: incoming.spanId, traceFlags: incoming.flags, isRemote: true });
    }
    return new RequestScope(this, { tenant: info.tenant, authorization: info.authorization }, info.method, info.path, incoming, parent);
  }

  callerLabel(identity: CallerIdentity): string {
    if (identity.verified === undefined) return this.callers.label(identity.tenant, identity.authorization);
    return this.callers.label(identity.verified ?? undefined, undefined);
  }

  finish(scope: RequestScope, r: FinishedRequest): void {
    const m = this.metrics;
    if (r.code !== undefined) m.errors.inc({ code: r.code });
    const caller = this.callers.get(scope.caller)!;
    caller.requests++;
    caller.seconds += r.seconds;
    m.callerRequests.inc({ caller: scope.caller });
    m.callerSeconds.inc({ caller: scope.caller }, r.seconds);
    if (r.code !== undefined) {
      caller.errors++;
      m.callerErrors.inc({ caller: scope.caller });
    }
    // A request counts in the GenAI series by its model or, for an app route, by its app. A name
    // the node does not serve is the caller's text, not a model: one label for all of them, or
    // every random name would become a series of its own.
    // A failed request may name a model it never reached (a body refused before the name was
    // looked up, an OpenAI 404): the name counts only if this node serves a model of that name.
    const unknown = r.code !== undefined && (UNKNOWN_NAME_CODES.has(r.code) || (scope.model !== undefined && !this.serves(scope.model)));
    const app = unknown ? '' : scope.app;
    const requested = unknown && (scope.model !== undefined || scope.app !== '') ? UNKNOWN_NAME : scope.model;
    if (requested === undefined && app === '') return;
    const op =
      requested === undefined
        ? { gen_ai_operation_name: APP_OPERATION, weft_app: app }
        : { gen_ai_operation_name: scope.operation, gen_ai_request_model: requested, ...(app !== '' && { weft_app: app }) };
    m.requestDuration.observe(r.code === undefined ? op : { ...op, error_type: r.code }, r.seconds);
    if (r.inputTokens > 0 || r.outputTokens > 0) {
      caller.inputTokens += r.inputTokens;
      caller.outputTokens += r.outputTokens;
      m.tokenUsage.observe({ ...op, gen_ai_token_type: 'input' }, r.inputTokens);
      m.tokenUsage.observe({ ...op, gen_ai_token_type: 'output' }, r.outputTokens);
      m.callerTokens.inc({ caller: scope.caller, gen_ai_token_type: 'input' }, r.inputTokens);
      m.callerTokens.inc({ caller: scope.caller, gen_ai_token_type: 'output' }, r.outputTokens);
    }
    const [model, key] = statsRow(requested ?? '', app);
    this.rolling.record(model, key, r.seconds * 1000, r.batchSize, r.code !== undefined);
  }

  /** One share's joules of a closed meter interval, to every figure that sums over shares. */
  private shareJoules(share: Share, device: EnergyDevice, source: EnergySource, joules: number): void {
    this.metrics.energy.inc({ model: share.model, app: share.app, device, source }, joules);
    this.metrics.callerEnergy.inc({ caller: share.caller, source }, joules);
    const caller = this.callers.get(share.caller);
    if (caller !== undefined) caller.joules += joules;
    const [model, app] = statsRow(share.model, share.app);
    this.rolling.energy(model, app, joules);
  }

  /** The share of work that no request scope asked for. */
  private internalShare(model: string): Share {
    return { model, app: '', caller: INTERNAL };
  }

  batchStarted(model: string, device: EnergyDevice, members: readonly BatchMember[], rows: number): (error?: Error) => void {
    const started = this.now();
    this.metrics.batchSize.observe({ model }, rows);
    let span: Span | undefined;
    if (this.tracing !== undefined) {
      const links = [];
      for (const member of members) {
        const context = member.scope?.spanContext();
        if (context) links.push({ context });
      }
      if (links.length > 0) {
        span = this.tracing.tracer.startSpan(`${BATCH_SPAN} ${model}`, {
          kind: SpanKind.INTERNAL,
          links,
          attributes: { 'gen_ai.request.model': model, 'weft.batch.size': rows, [BATCH_REQUESTS]: members.length, 'weft.device': device },
        }, ROOT_CONTEXT);
      }
    }
    // The batch's busy time is shared by rows (equally when it reports none).
    const work = this.accountant?.startWork(
      device,
      members.map((member) => ({ share: member.scope?.share(model) ?? this.internalShare(model), weight: rows > 0 ? member.rows : 1 })),
    );
    return (error) => {
      work?.end();
      const busyMs = this.now() - started;
      const batchContext: SpanContext | undefined = span?.spanContext();
      for (const member of members) {
        member.scope?.joinedBatch(device, rows > 0 ? (busyMs * member.rows) / rows : busyMs / members.length, batchContext);
      }
      if (span !== undefined) {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        span.end();
      }
    };
  }

  generationStarted(model: string, device: EnergyDevice | undefined, scope: RequestScope | undefined): (error?: Error) => void {
    if (device === undefined || this.accountant === undefined) return () => undefined;
    scope?.generating(device);
    const key = `${device}\u0000${model}`;
    let running = this.generations.get(key);
    if (running === undefined) this.generations.set(key, (running = { work: this.accountant.startWork(device), running: 0 }));
    const share = scope?.share(model) ?? this.internalShare(model);
    running.work.join(share);
    running.running++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      running.work.leave(share);
      if (--running.running > 0) return;
      running.work.end();
      this.generations.delete(key);
    };
  }

  modelLoaded(model: string, device: string, ms: number): void {
    this.metrics.modelLoad.observe({ model, device }, ms / 1000);
  }

  modelUnloaded(model: string, reason: 'memory budget' | 'keep_alive'): void {
    this.metrics.evictions.inc({ model, reason: reason === 'memory budget' ? 'memory_budget' : reason });
  }

  /** A WebAssembly component instance started (the sandbox calls this). */
  componentStarted(app: string): void {
    this.metrics.componentStarts.inc({ app });
  }

  private traceDecided(kept: boolean, reason: DecisionReason): void {
    this.metrics.traces.inc({ decision: kept ? 'kept' : 'dropped', reason });
    this.kept[kept ? 'kept' : 'dropped']++;
    this.metrics.tracesKept.set(this.kept.kept / (this.kept.kept + this.kept.dropped));
  }

  private exportFailed(err: Error): void {
    // Logged once: a collector that is down would otherwise log every second.
    if (this.exportErrorLogged) return;
    this.exportErrorLogged = true;
    this.log.warn('OTLP trace export failed (logged once)', { error: err.message });
  }

  stats(): AdminStats {
    const byModel = new Map<string, { queued: number; inflight: number }>();
    for (const m of this.models()) {
      const e = byModel.get(m.name) ?? { queued: 0, inflight: 0 };
      e.queued += m.queued;
      e.inflight += m.inflight;
      byModel.set(m.name, e);
    }
    const rolling = this.rolling.snapshot();
    const seen = new Set(rolling.map((s) => s.model));
    const idle = [...byModel.keys()]
      .filter((name) => !seen.has(name))
      .map((model) => ({ model, app: '', rate: 0, requests: 0, errors: 0, p50Ms: 0, p99Ms: 0, meanBatchSize: 0, joulesPerRequest: 0, watts: 0 }));
    return {
      windowSeconds: WINDOW_MS / 1000,
      models: [...rolling, ...idle]
        .sort((a, b) => a.model.localeCompare(b.model))
        // App rows (model '') have no queue of their own: queues are per model.
        .map((s) => ({ ...s, ...((s.app === '' && byModel.get(s.model)) || { queued: 0, inflight: 0 }) })),
      power: this.accountant?.power() ?? [],
      callers: this.callers.top(),
      callerNames: this.callers.names(),
      tracing: { enabled: this.tracing !== undefined, ...this.kept },
    };
  }

  /** Flushes traces and stops the energy meters. */
  async shutdown(): Promise<void> {
    await this.accountant?.stop();
    await this.tracing?.shutdown();
  }
}
