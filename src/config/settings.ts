// The registry of every node setting: its flag, WEFT_* variable, config-file key, default and
// description. Parsing (parse.ts) and `weft config` both read this one list.

export type SettingKind = 'string' | 'integer' | 'bytes' | 'duration' | 'list' | 'boolean' | 'choice';

export interface Setting {
  /** Key in the config object and in a config file. */
  key: string;
  /** Command-line flag, without the leading dashes. */
  flag: string;
  /** Environment variable. */
  env: string;
  kind: SettingKind;
  /** Default as a user would type it; undefined means unset. */
  default: string | undefined;
  /** Allowed values for `choice` settings. */
  choices?: readonly string[];
  description: string;
}

export const settings = [
  { key: 'host', flag: 'host', env: 'WEFT_HOST', kind: 'string', default: '127.0.0.1', description: 'Address the HTTP server listens on' },
  { key: 'port', flag: 'port', env: 'WEFT_PORT', kind: 'integer', default: '8080', description: 'HTTP port (0 picks a free one)' },
  { key: 'models', flag: 'models', env: 'WEFT_MODELS', kind: 'string', default: undefined, description: 'Model repository folder: DIR/<name>/<version>/model.onnx, optional DIR/<name>/config.json' },
  { key: 'model', flag: 'model', env: 'WEFT_MODEL', kind: 'list', default: undefined, description: 'A single model as NAME=PATH (repeatable; comma-separated in the env var)' },
  { key: 'load', flag: 'load', env: 'WEFT_LOAD', kind: 'choice', choices: ['lazy', 'eager'], default: 'lazy', description: 'Load models on first use (lazy) or at start (eager)' },
  { key: 'device', flag: 'device', env: 'WEFT_DEVICE', kind: 'choice', choices: ['cpu', 'cuda'], default: 'cpu', description: 'Default execution device for models (cuda falls back to cpu with a warning when unavailable)' },
  { key: 'memoryBudget', flag: 'memory-budget', env: 'WEFT_MEMORY_BUDGET', kind: 'bytes', default: 'auto', description: 'Memory models may use per device; LRU-idle models are evicted beyond it (auto: half of RAM for cpu)' },
  { key: 'keepAlive', flag: 'keep-alive', env: 'WEFT_KEEP_ALIVE', kind: 'duration', default: '-1', description: 'Default time an idle model stays loaded (-1: until evicted for memory; 0: unload after each use)' },
  { key: 'maxBatchSize', flag: 'max-batch-size', env: 'WEFT_MAX_BATCH_SIZE', kind: 'integer', default: '8', description: 'Default max_batch_size for models whose first dimension is dynamic (0 disables batching)' },
  { key: 'maxQueueDelay', flag: 'max-queue-delay', env: 'WEFT_MAX_QUEUE_DELAY', kind: 'duration', default: '0', description: 'Default max_queue_delay_us: how long a batch may wait to fill (0: batch only what is already queued)' },
  { key: 'maxQueueSize', flag: 'max-queue-size', env: 'WEFT_MAX_QUEUE_SIZE', kind: 'integer', default: '256', description: 'Default bound of a model queue; beyond it requests get 429 at once' },
  { key: 'queueTimeout', flag: 'queue-timeout', env: 'WEFT_QUEUE_TIMEOUT', kind: 'duration', default: '30s', description: 'Default time a request may wait in a queue before it fails with QUEUE_TIMEOUT' },
  { key: 'instances', flag: 'instances', env: 'WEFT_INSTANCES', kind: 'integer', default: '1', description: 'Default number of batches a model runs at once' },
  { key: 'intraOpThreads', flag: 'intra-op-threads', env: 'WEFT_INTRA_OP_THREADS', kind: 'integer', default: '0', description: 'Threads inside one model run (0: the runtime decides)' },
  { key: 'maxBodySize', flag: 'max-body-size', env: 'WEFT_MAX_BODY_SIZE', kind: 'bytes', default: '64MiB', description: 'Largest request body accepted (413 beyond)' },
  { key: 'shutdownTimeout', flag: 'shutdown-timeout', env: 'WEFT_SHUTDOWN_TIMEOUT', kind: 'duration', default: '30s', description: 'On SIGTERM, how long in-flight requests may take before the node exits anyway' },
  { key: 'dataDir', flag: 'data-dir', env: 'WEFT_DATA_DIR', kind: 'string', default: '~/.weft', description: "The node's data folder: compiled component cache (and stored bundles)" },
  { key: 'app', flag: 'app', env: 'WEFT_APP', kind: 'list', default: undefined, description: 'An app to serve: a folder holding weft.json (repeatable; comma-separated in the env var). None: the embedded OCR app' },
  { key: 'logLevel', flag: 'log-level', env: 'WEFT_LOG_LEVEL', kind: 'choice', choices: ['debug', 'info', 'warn', 'error'], default: 'info', description: 'Least severe log level written to stderr' },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof settings)[number]['key'];
