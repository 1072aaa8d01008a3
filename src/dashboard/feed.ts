// Builds the dashboard snapshot from the node's own sources — the admin stats, the engine's model
// states, the /metrics registry and the kept traces — so every figure on the page is one the
// admin API or /metrics gives at that moment. The browser only draws what it is sent.

import type { Engine } from '../engine/index.js';
import type { KeptTraces, Telemetry } from '../telemetry/index.js';
import type { AppSplit, DashboardApp, DashboardMetrics, DashboardModel, DashboardSnapshot, FleetStatus } from './types.js';

/** Seconds of output-token counter history a tokens/s figure is taken over. */
const RATE_SECONDS = 10;
const RECENT_TRACES = 50;

export interface DashboardSources {
  telemetry: Telemetry;
  /** The models' states and the budget; language models' names for their /metrics series. */
  engine: Pick<Engine, 'status' | 'memory' | 'languageModels'>;
  /** Deployed apps (the app deployer). */
  apps?: { list(): DashboardApp[] } | undefined;
  version: string;
  /** The fleet's nodes and apps (fleetStatus over the FleetControl); absent or null on a single node. */
  fleet?: (() => Promise<FleetStatus | null>) | undefined;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

type Series = Map<string, MetricValue[]>;

async function readRegistry(telemetry: Telemetry): Promise<Series> {
  const out: Series = new Map();
  for (const metric of await telemetry.metrics.registry.getMetricsAsJSON()) {
    for (const v of metric.values as MetricValue[]) {
      const name = v.metricName ?? metric.name;
      const list = out.get(name) ?? [];
      list.push(v);
      out.set(name, list);
    }
  }
  return out;
}

/** Mean milliseconds of a seconds histogram. */
const mean = (sumSeconds: number, count: number) => (count > 0 ? (sumSeconds * 1000) / count : 0);

const label = (v: MetricValue, key: string) => String(v.labels[key] ?? '');

function sumBy(series: MetricValue[] | undefined, key: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of series ?? []) out.set(label(v, key), (out.get(label(v, key)) ?? 0) + v.value);
  return out;
}

export class DashboardFeed {
  /** (epoch ms, output tokens) per language model, for tokens/s. */
  private readonly tokenHistory = new Map<string, Array<[number, number]>>();

  constructor(private readonly sources: DashboardSources) {}

  async snapshot(): Promise<DashboardSnapshot> {
    const { telemetry, engine } = this.sources;
    const llm = engine.languageModels();
    const at = Date.now();
    const series = await readRegistry(telemetry);
    const stats = telemetry.stats();
    const models: DashboardModel[] = [
      ...engine
        .status()
        .filter((m) => m.kind === 'tensor')
        .map((m) => ({ name: m.name, version: m.version, kind: 'onnx' as const, state: m.state, reason: m.reason, device: m.device, memoryBytes: m.memoryBytes, inflight: m.inflight, queued: m.queued })),
      ...llm.map((m) => ({ name: m.name, version: undefined, kind: 'llm' as const, state: m.state, reason: m.reason, device: m.device ?? (m.kind === 'remote' ? 'remote' : undefined), memoryBytes: 0, inflight: m.inflight, queued: m.queued })),
    ];
    const kept = telemetry.keptTraces;
    return {
      at,
      version: this.sources.version,
      stats,
      models,
      memory: engine.memory(),
      apps: (this.sources.apps?.list() ?? []).map((a) => ({ name: a.name, version: a.version, models: a.models })),
      metrics: this.metrics(series, llm.map((m) => m.name), at),
      split: kept === undefined ? [] : appSplit(kept),
      traces: { enabled: kept !== undefined, recent: kept?.list().slice(0, RECENT_TRACES) ?? [] },
      fleet: (await this.sources.fleet?.()) ?? null,
    };
  }

  private metrics(series: Series, llmNames: string[], at: number): DashboardMetrics {
    const errors = (series.get('gen_ai_server_request_duration_seconds_count') ?? [])
      .filter((v) => label(v, 'error_type') !== '')
      .map((v) => ({ model: label(v, 'gen_ai_request_model'), code: label(v, 'error_type'), count: v.value }));
    const queueSums = sumBy(series.get('weft_queue_time_seconds_sum'), 'model');
    const queue = [...sumBy(series.get('weft_queue_time_seconds_count'), 'model')].map(([model, count]) => {
      const sumSeconds = queueSums.get(model) ?? 0;
      return { model, count, sumSeconds, meanMs: mean(sumSeconds, count) };
    });
    const pick = (name: string, model: string, extra?: [string, string]) =>
      (series.get(name) ?? [])
        .filter((v) => label(v, 'gen_ai_request_model') === model && (extra === undefined || label(v, extra[0]) === extra[1]))
        .reduce((n, v) => n + v.value, 0);
    const llm = llmNames.map((model) => {
      const outputTokens = pick('gen_ai_client_token_usage_sum', model, ['gen_ai_token_type', 'output']);
      const ttftCount = pick('gen_ai_server_time_to_first_token_seconds_count', model);
      const ttftSumSeconds = pick('gen_ai_server_time_to_first_token_seconds_sum', model);
      const tpotCount = pick('gen_ai_server_time_per_output_token_seconds_count', model);
      const tpotSumSeconds = pick('gen_ai_server_time_per_output_token_seconds_sum', model);
      return {
        model,
        ttftCount,
        ttftSumSeconds,
        tpotCount,
        tpotSumSeconds,
        ttftMeanMs: mean(ttftSumSeconds, ttftCount),
        tpotMeanMs: mean(tpotSumSeconds, tpotCount),
        inputTokens: pick('gen_ai_client_token_usage_sum', model, ['gen_ai_token_type', 'input']),
        outputTokens,
        ...this.tokenRate(model, at, outputTokens),
      };
    });
    return {
      errors,
      memory: (series.get('weft_model_memory_bytes') ?? []).map((v) => ({ model: label(v, 'model'), device: label(v, 'device'), bytes: v.value })),
      queue,
      energy: (series.get('weft_energy_joules_total') ?? []).map((v) => ({ model: label(v, 'model'), app: label(v, 'app'), device: label(v, 'device'), source: label(v, 'source'), joules: v.value })),
      llm,
    };
  }

  /** Output tokens/s over the last RATE_SECONDS of readings of the node's own counter. */
  private tokenRate(model: string, at: number, tokens: number): { outputTokensPerSecond: number; rateSeconds: number } {
    const history = this.tokenHistory.get(model) ?? [];
    history.push([at, tokens]);
    while (history.length > 1 && at - history[0]![0] > RATE_SECONDS * 1000) history.shift();
    this.tokenHistory.set(model, history);
    const [t0, n0] = history[0]!;
    const seconds = (at - t0) / 1000;
    return { outputTokensPerSecond: seconds > 0 ? (tokens - n0) / seconds : 0, rateSeconds: seconds };
  }
}

/** Component, model and queue time of app requests, from the kept traces of each app. */
export function appSplit(kept: KeptTraces): AppSplit[] {
  const byApp = new Map<string, AppSplit>();
  for (const summary of kept.list()) {
    if (summary.app === undefined) continue;
    const trace = kept.get(summary.traceId);
    if (trace === undefined) continue;
    const sandbox = trace.spans.filter((s) => s.name === 'sandbox.invoke').reduce((n, s) => n + s.durationMs, 0);
    let model = 0;
    let queue = 0;
    let call = 0;
    for (const s of trace.spans) {
      if (s.name !== 'inference.run') continue;
      call += s.durationMs;
      model += Number(s.attributes['weft.compute.ms'] ?? 0);
      queue += Number(s.attributes['weft.queue.ms'] ?? 0);
    }
    const e = byApp.get(summary.app) ?? { app: summary.app, traces: 0, requestMs: 0, componentMs: 0, modelMs: 0, queueMs: 0 };
    e.traces++;
    e.requestMs += summary.durationMs;
    e.componentMs += Math.max(0, sandbox - call);
    e.modelMs += model;
    e.queueMs += queue;
    byApp.set(summary.app, e);
  }
  // Means per request.
  return [...byApp.values()].map((e) => ({ ...e, requestMs: e.requestMs / e.traces, componentMs: e.componentMs / e.traces, modelMs: e.modelMs / e.traces, queueMs: e.queueMs / e.traces }));
}
