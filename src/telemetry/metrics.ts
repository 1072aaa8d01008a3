// The node's metrics in a prom-client registry of its own, exposed at GET /metrics. Names follow
// the OpenTelemetry GenAI conventions as the OTel→Prometheus translation spells them (dots to
// underscores, unit suffix); ours start with weft_. Every label has a bounded set of values:
// configured models and apps, error codes, devices, and top-k callers.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** GenAI semantic-convention bucket boundaries (seconds, tokens). */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const QUEUE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const LOAD_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const OP = 'gen_ai_operation_name';
const MODEL = 'gen_ai_request_model';
const TOKEN_TYPE = 'gen_ai_token_type';
/** The app of a request to an app route (the span's weft.app); absent on direct model calls. */
const APP = 'weft_app';

/** One model (a tensor model version or a language model) as the engine reports it, for the gauges read at scrape time. */
export interface ModelGaugeSource {
  name: string;
  device?: string | undefined;
  /** Absent where the model holds no memory on this node (an upstream). */
  memoryBytes?: number;
  /** Memory measured at load, where the backend measures it. */
  measuredBytes?: number | undefined;
  inflight: number;
  queued: number;
}

/**
 * One language model's load as the model-server protocol of the Gateway API Inference Extension
 * names it (docs/deploy.md): what endpoint pickers read to choose a pod.
 */
export interface LanguageModelLoad {
  name: string;
  /** Requests admitted and waiting for a sequence. */
  waiting: number;
  /** Generations (and embeddings) running. */
  running: number;
  /** Fraction (0 to 1) of the KV cache running generations hold; absent where unknown (an upstream). */
  kvCacheUsage?: number | undefined;
}

/** `vllm`: the protocol gauges are exported under vLLM's names as well (--metrics-compat). */
export type MetricsCompat = 'none' | 'vllm';

/** The protocol gauges under each naming: ours (label `model`) and vLLM's (label `model_name`). */
const PROTOCOL_NAMES = {
  none: { label: 'model', waiting: 'weft_llm_requests_waiting', running: 'weft_llm_requests_running', kv: 'weft_llm_kv_cache_usage_ratio' },
  vllm: { label: 'model_name', waiting: 'vllm:num_requests_waiting', running: 'vllm:num_requests_running', kv: 'vllm:kv_cache_usage_perc' },
} as const;

export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'gen_ai_server_request_duration_seconds',
    help: 'GenAI server request duration (gen_ai.server.request.duration)',
    labelNames: [OP, MODEL, APP, 'error_type'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time to generate the first token (gen_ai.server.time_to_first_token)',
    labelNames: [OP, MODEL],
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });
  readonly timePerOutputToken = new Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Time per output token after the first (gen_ai.server.time_per_output_token)',
    labelNames: [OP, MODEL],
    buckets: TPOT_BUCKETS,
    registers: [this.registry],
  });
  readonly tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens per request, input and output (gen_ai.client.token.usage)',
    labelNames: [OP, MODEL, APP, TOKEN_TYPE],
    buckets: TOKEN_BUCKETS,
    registers: [this.registry],
  });
  readonly queueTime = new Histogram({
    name: 'weft_queue_time_seconds',
    help: 'Time requests waited in a model queue before their batch ran',
    labelNames: ['model'],
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'weft_batch_size',
    help: 'Rows per executed batch',
    labelNames: ['model'],
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly modelLoad = new Histogram({
    name: 'weft_model_load_duration_seconds',
    help: 'Time to load a model into its backend',
    labelNames: ['model', 'device'],
    buckets: LOAD_BUCKETS,
    registers: [this.registry],
  });
  readonly evictions = new Counter({
    name: 'weft_model_evictions_total',
    help: 'Models unloaded to make room (memory budget) or after keep_alive',
    labelNames: ['model', 'reason'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'weft_errors_total',
    help: 'Requests that failed, by stable error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly droppedConnections = new Counter({
    name: 'weft_connections_dropped_total',
    help: 'Connections to the HTTP or gRPC API closed at once because --max-connections were open',
    registers: [this.registry],
  });
  readonly stalledAnswers = new Counter({
    name: 'weft_stalled_answers_dropped_total',
    help: 'Answers dropped, their HTTP connection or gRPC call closed, because the client read none of them for --send-timeout',
    registers: [this.registry],
  });
  readonly componentStarts = new Counter({
    name: 'weft_component_instance_starts_total',
    help: 'WebAssembly component instances started',
    labelNames: ['app'],
    registers: [this.registry],
  });
  readonly energy = new Counter({
    name: 'weft_energy_joules_total',
    help: 'Energy attributed to models and apps by device busy time (model="_idle": no request ran)',
    labelNames: ['model', 'app', 'device', 'source'],
    registers: [this.registry],
  });
  readonly nodeEnergy = new Counter({
    name: 'weft_node_energy_joules_total',
    help: 'Energy the meters counted per device: the sum of weft_energy_joules_total over models, apps and _idle',
    labelNames: ['device', 'source'],
    registers: [this.registry],
  });
  readonly power = new Gauge({
    name: 'weft_node_power_watts',
    help: 'Node power per device over the last meter interval',
    labelNames: ['device', 'source'],
    registers: [this.registry],
  });
  readonly traces = new Counter({
    name: 'weft_traces_total',
    help: 'Request traces by sampling decision (kept or dropped) and the rule that decided',
    labelNames: ['decision', 'reason'],
    registers: [this.registry],
  });
  readonly tracesKept = new Gauge({
    name: 'weft_traces_kept_ratio',
    help: 'Fraction of request traces kept by head and tail sampling since start',
    registers: [this.registry],
  });
  readonly callerRequests = new Counter({
    name: 'weft_caller_requests_total',
    help: 'Requests per caller (hashed tenant or API key; top-k, the rest as "other")',
    labelNames: ['caller'],
    registers: [this.registry],
  });
  readonly callerErrors = new Counter({ name: 'weft_caller_errors_total', help: 'Failed requests per caller', labelNames: ['caller'], registers: [this.registry] });
  readonly callerSeconds = new Counter({
    name: 'weft_caller_request_seconds_total',
    help: 'Summed request latency per caller (divide by requests for the mean)',
    labelNames: ['caller'],
    registers: [this.registry],
  });
  readonly callerTokens = new Counter({ name: 'weft_caller_tokens_total', help: 'Tokens per caller', labelNames: ['caller', TOKEN_TYPE], registers: [this.registry] });
  readonly callerEnergy = new Counter({ name: 'weft_caller_energy_joules_total', help: 'Energy attributed to each caller\'s requests (with model="_idle" of weft_energy_joules_total: the node total)', labelNames: ['caller', 'source'], registers: [this.registry] });

  constructor(models: () => readonly ModelGaugeSource[], languageModels: () => readonly LanguageModelLoad[] = () => [], compat: MetricsCompat = 'none') {
    // The process's own (prom-client's defaults, as every Node exporter has them): resident
    // memory, V8 heap, external memory, event-loop lag, GC. Memory a leak would show in.
    collectDefaultMetrics({ register: this.registry });
    const sum = (pick: (m: ModelGaugeSource) => number) => {
      const out = new Map<string, number>();
      for (const m of models()) out.set(m.name, (out.get(m.name) ?? 0) + pick(m));
      return out;
    };
    new Gauge({
      name: 'weft_requests_inflight',
      help: 'Requests queued or running per model',
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        // Reset first: apps add and remove models at run time, and a removed model's series must go.
        this.reset();
        for (const [model, n] of sum((m) => m.inflight)) this.set({ model }, n);
      },
    });
    new Gauge({
      name: 'weft_requests_queued',
      help: 'Requests waiting in a model queue',
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [model, n] of sum((m) => m.queued)) this.set({ model }, n);
      },
    });
    new Gauge({
      name: 'weft_model_memory_bytes',
      help: 'Memory loaded models are counted for, per device',
      labelNames: ['model', 'device'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()) if (m.device !== undefined && m.memoryBytes !== undefined && m.memoryBytes > 0) this.inc({ model: m.name, device: m.device }, m.memoryBytes);
      },
    });
    new Gauge({
      name: 'weft_model_memory_measured_bytes',
      help: 'Memory measured when loaded models opened (RSS growth; process-wide, so concurrent work can add to it), per device',
      labelNames: ['model', 'device'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()) if (m.device !== undefined && m.measuredBytes !== undefined) this.inc({ model: m.name, device: m.device }, m.measuredBytes);
      },
    });
    for (const naming of compat === 'vllm' ? (['none', 'vllm'] as const) : (['none'] as const)) this.protocolGauges(naming, languageModels);
  }

  private protocolGauges(naming: MetricsCompat, languageModels: () => readonly LanguageModelLoad[]): void {
    const names = PROTOCOL_NAMES[naming];
    const gauge = (name: string, help: string, pick: (m: LanguageModelLoad) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: [names.label],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const m of languageModels()) {
            const value = pick(m);
            if (value !== undefined) this.set({ [names.label]: m.name }, value);
          }
        },
      });
    gauge(names.waiting, 'Requests waiting in a language model\'s queue for a sequence', (m) => m.waiting);
    gauge(names.running, 'Generations and embeddings a language model is running', (m) => m.running);
    gauge(names.kv, 'Fraction of a language model\'s KV cache held by running generations (0 to 1)', (m) => m.kvCacheUsage);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
