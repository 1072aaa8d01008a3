// The dashboard's wire contract: the snapshot GET /admin/dashboard answers and the live feed
// (GET /admin/dashboard/events) sends about once a second, and the fleet status the Fleet view
// reads. Type-only, so the browser bundle imports it too.

import type { AdminStats, KeptTraceSummary } from '../telemetry/index.js';

/** A model of the node, tensor (ONNX) or language model, as the engine reports it now. */
export interface DashboardModel {
  name: string;
  /** Tensor models have versions; language models have one. */
  version: number | undefined;
  kind: 'onnx' | 'llm';
  state: string;
  reason: string | undefined;
  device: string | undefined;
  memoryBytes: number;
  inflight: number;
  queued: number;
}

export interface DashboardApp {
  name: string;
  version: string;
  models: string[];
}

/** Cumulative figures read from the node's /metrics registry at the snapshot's moment. */
export interface DashboardMetrics {
  /** gen_ai_server_request_duration_seconds_count by model and error_type. */
  errors: Array<{ model: string; code: string; count: number }>;
  /** weft_model_memory_bytes. */
  memory: Array<{ model: string; device: string; bytes: number }>;
  /** weft_queue_time_seconds: count and sum per model. */
  queue: Array<{ model: string; count: number; sumSeconds: number; meanMs: number }>;
  /** weft_energy_joules_total by model, app, device and source (measured or estimated). */
  energy: Array<{ model: string; app: string; device: string; source: string; joules: number }>;
  /** Language models: time to first token and per output token (histogram sums and counts), tokens. */
  llm: Array<{
    model: string;
    ttftCount: number;
    ttftSumSeconds: number;
    tpotCount: number;
    tpotSumSeconds: number;
    /** sum / count of the histograms, in milliseconds (0 before the first). */
    ttftMeanMs: number;
    tpotMeanMs: number;
    inputTokens: number;
    outputTokens: number;
    /** Output tokens per second over the last `rateSeconds` (from successive reads of the counter). */
    outputTokensPerSecond: number;
    rateSeconds: number;
  }>;
}

/**
 * Where an app request's time went, over the kept traces of that app still in memory: time in
 * the component itself, in model compute, waiting in model queues, and outside the sandbox.
 */
export interface AppSplit {
  app: string;
  traces: number;
  requestMs: number;
  componentMs: number;
  modelMs: number;
  queueMs: number;
}

/** The contract GET /admin/fleet/status will serve once the fleet exists. */
export interface FleetStatus {
  nodes: Array<{
    id: string;
    site: string;
    url: string;
    health: 'healthy' | 'degraded' | 'down';
    /** Requests in flight over what the node admits, 0..1. */
    load: number;
    watts: number | undefined;
    idle: boolean;
  }>;
  apps: Array<{
    name: string;
    replicas: Array<{ node: string | undefined; state: 'running' | 'starting' | 'pending'; reason: string | undefined }>;
  }>;
}

export interface DashboardSnapshot {
  /** Epoch milliseconds when the figures were read. */
  at: number;
  version: string;
  /** Exactly what GET /admin/stats answers at this moment. */
  stats: AdminStats;
  models: DashboardModel[];
  memory: Array<{ device: string; usedBytes: number; budgetBytes: number }>;
  apps: DashboardApp[];
  metrics: DashboardMetrics;
  split: AppSplit[];
  /** Kept traces (newest first, at most 50 here; GET /admin/traces has them all). */
  traces: { enabled: boolean; recent: KeptTraceSummary[] };
  /** GET /admin/fleet/status when the node is part of a fleet; null for a single node. */
  fleet: FleetStatus | null;
}
