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

/**
 * The fleet as this node sees it, mapped field by field from what GET /admin/fleet/nodes and
 * GET /admin/fleet/apps answer at that moment (src/dashboard/fleet-status.ts): no figure here is
 * computed that the admin API does not give, except sums over a node's per-model load.
 */
export interface FleetStatus {
  policy: 'spread' | 'pack';
  /** The node holding the scheduler's lease, if any. */
  scheduler: string | undefined;
  nodes: Array<{
    id: string;
    site: string;
    url: string;
    version: string;
    /** Epoch ms of the node's last heartbeat (record.at, by that node's clock). */
    at: number;
    draining: boolean;
    scheduler: boolean;
    /** Requests waiting in and running on the node's models: record.load summed. */
    queued: number;
    inflight: number;
    /** record.power: the node's watts, and whether a meter measured them or the estimator did. */
    watts: number;
    powerSource: string;
    measured: boolean;
    /** Replicas the scheduler placed on the node. */
    replicas: number;
    /** Under the `pack` policy: serves nothing and could sleep. */
    idle: boolean;
  }>;
  apps: Array<{
    name: string;
    health: 'healthy' | 'degraded' | 'unavailable' | 'pending';
    target: number;
    ready: number;
    replicas: Array<{ node: string; site: string; state: string; error: string | undefined }>;
    /** The scheduler's reason replicas are not placed; empty when all are. */
    pending: string;
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
  /** The fleet's nodes and apps when the node is part of a fleet; null for a single node. */
  fleet: FleetStatus | null;
}
