// The registry of every node setting: its flag, WEFT_* variable, config-file key, default and
// description. Parsing (parse.ts) and `weft config` both read this one list.

export type SettingKind = 'string' | 'integer' | 'number' | 'bytes' | 'duration' | 'list' | 'boolean' | 'choice';

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
  /** A credential: `weft config` says whether it is set, never its value. */
  secret?: boolean;
  description: string;
}

export const settings = [
  { key: 'host', flag: 'host', env: 'WEFT_HOST', kind: 'string', default: '127.0.0.1', description: 'Address the HTTP server listens on' },
  { key: 'port', flag: 'port', env: 'WEFT_PORT', kind: 'integer', default: '8080', description: 'HTTP port (0 picks a free one)' },
  { key: 'grpcPort', flag: 'grpc-port', env: 'WEFT_GRPC_PORT', kind: 'integer', default: '8081', description: 'Port of the KServe v2 / Open Inference Protocol gRPC service on --host (0 turns it off)' },
  { key: 'models', flag: 'models', env: 'WEFT_MODELS', kind: 'string', default: undefined, description: 'Model repository folder: DIR/<name>/<version>/model.onnx or model.gguf, optional DIR/<name>/config.json' },
  { key: 'model', flag: 'model', env: 'WEFT_MODEL', kind: 'list', default: undefined, description: 'A single model as NAME=PATH to a .onnx or .gguf file (repeatable; comma-separated in the env var)' },
  { key: 'load', flag: 'load', env: 'WEFT_LOAD', kind: 'choice', choices: ['lazy', 'eager'], default: 'lazy', description: 'Load models on first use (lazy) or at start (eager)' },
  { key: 'device', flag: 'device', env: 'WEFT_DEVICE', kind: 'choice', choices: ['cpu', 'cuda'], default: 'cpu', description: 'Default execution device for models (cuda falls back to cpu with a warning when unavailable)' },
  { key: 'memoryBudget', flag: 'memory-budget', env: 'WEFT_MEMORY_BUDGET', kind: 'bytes', default: 'auto', description: 'Memory models may use per device; LRU-idle models are evicted beyond it (auto: half of RAM for cpu)' },
  { key: 'keepAlive', flag: 'keep-alive', env: 'WEFT_KEEP_ALIVE', kind: 'duration', default: '-1', description: 'Default time an idle model stays loaded (-1: until evicted for memory; 0: unload after each use)' },
  { key: 'maxBatchSize', flag: 'max-batch-size', env: 'WEFT_MAX_BATCH_SIZE', kind: 'integer', default: '8', description: 'Default max_batch_size for models whose first dimension is dynamic (0 disables batching)' },
  { key: 'adaptiveBatching', flag: 'adaptive-batching', env: 'WEFT_ADAPTIVE_BATCHING', kind: 'boolean', default: 'false', description: 'Default adaptive_batching: learn from real batches which batch sizes serve rows fastest on the model\'s device, and batch no larger (on many CPUs: not at all); the choice shows in the repository index' },
  { key: 'maxQueueDelay', flag: 'max-queue-delay', env: 'WEFT_MAX_QUEUE_DELAY', kind: 'duration', default: '0', description: 'Default max_queue_delay_us: how long a batch may wait to fill (0: batch only what is already queued)' },
  { key: 'maxQueueSize', flag: 'max-queue-size', env: 'WEFT_MAX_QUEUE_SIZE', kind: 'integer', default: '256', description: 'Default bound of a model queue; beyond it requests get 429 at once' },
  { key: 'queueTimeout', flag: 'queue-timeout', env: 'WEFT_QUEUE_TIMEOUT', kind: 'duration', default: '30s', description: 'Default time a request may wait in a queue before it fails with QUEUE_TIMEOUT' },
  { key: 'instances', flag: 'instances', env: 'WEFT_INSTANCES', kind: 'integer', default: '1', description: 'Default number of batches a model runs at once' },
  { key: 'intraOpThreads', flag: 'intra-op-threads', env: 'WEFT_INTRA_OP_THREADS', kind: 'integer', default: '0', description: 'Threads inside one model run (0: chosen per model on its real traffic, the runtime\'s default or one)' },
  { key: 'upstream', flag: 'upstream', env: 'WEFT_UPSTREAM', kind: 'list', default: undefined, description: 'An LLM served by an OpenAI-compatible server as NAME=URL (repeat the name to balance over several URLs)' },
  { key: 'llmContextSize', flag: 'llm-context-size', env: 'WEFT_LLM_CONTEXT_SIZE', kind: 'integer', default: '4096', description: 'Default tokens of context per generation for GGUF models (prompt plus output)' },
  { key: 'llmParallel', flag: 'llm-parallel', env: 'WEFT_LLM_PARALLEL', kind: 'integer', default: '4', description: 'Default generations a GGUF model runs at once (sequences in one context); more wait in its queue' },
  { key: 'llmThreads', flag: 'llm-threads', env: 'WEFT_LLM_THREADS', kind: 'integer', default: '0', description: 'CPU threads of a GGUF model (0: half the logical CPUs)' },
  { key: 'llmDefaultMaxTokens', flag: 'llm-default-max-tokens', env: 'WEFT_LLM_DEFAULT_MAX_TOKENS', kind: 'integer', default: '1024', description: 'Most tokens a GGUF model generates for a request that names no max_tokens (0: the context\'s free room, which caps it anyway)' },
  { key: 'upstreamHealthInterval', flag: 'upstream-health-interval', env: 'WEFT_UPSTREAM_HEALTH_INTERVAL', kind: 'duration', default: '10s', description: 'How often each LLM upstream is checked (GET /models)' },
  { key: 'upstreamRetry', flag: 'upstream-retry', env: 'WEFT_UPSTREAM_RETRY', kind: 'duration', default: '5s', description: 'How long a failed LLM upstream stays out before requests try it again' },
  { key: 'maxBodySize', flag: 'max-body-size', env: 'WEFT_MAX_BODY_SIZE', kind: 'bytes', default: '64MiB', description: 'Largest request body accepted (413 beyond)' },
  { key: 'maxBodyMemory', flag: 'max-body-memory', env: 'WEFT_MAX_BODY_MEMORY', kind: 'bytes', default: 'auto', description: 'Bytes of request bodies and gRPC messages of 1 MiB or more the node holds at once, counted as they arrive and until each is answered; a body or message that would pass it is refused (503 or UNAVAILABLE, SERVER_OVERLOADED, Retry-After) (auto: an eighth of RAM, at most 4 GiB, at least twice --max-body-size; 0: no limit)' },
  { key: 'maxHeaderSize', flag: 'max-header-size', env: 'WEFT_MAX_HEADER_SIZE', kind: 'bytes', default: '16KiB', description: 'Largest request head (request line and headers) accepted; beyond it the connection is answered 431' },
  { key: 'maxConnections', flag: 'max-connections', env: 'WEFT_MAX_CONNECTIONS', kind: 'integer', default: 'auto', description: 'Connections the HTTP and gRPC APIs hold open at once, counted together; more are closed as they arrive and counted in weft_connections_dropped_total (auto: three quarters of the open-file limit, so the node keeps descriptors for its own files; 0: no limit)' },
  { key: 'grpcMaxStreams', flag: 'grpc-max-streams', env: 'WEFT_GRPC_MAX_STREAMS', kind: 'integer', default: '256', description: 'Calls one gRPC connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); a client queues the rest (0: no limit)' },
  { key: 'requestTimeout', flag: 'request-timeout', env: 'WEFT_REQUEST_TIMEOUT', kind: 'duration', default: '60s', description: 'How long a client may take to send a whole request, head and body; a slower one is answered 408 and its connection closed (a gRPC call: DEADLINE_EXCEEDED, REQUEST_TIMEOUT) (0: no limit)' },
  { key: 'sendTimeout', flag: 'send-timeout', env: 'WEFT_SEND_TIMEOUT', kind: 'duration', default: '60s', description: 'How long an answer may wait for a client that reads none of it; then its HTTP connection, or its gRPC call, is closed (0: no limit)' },
  { key: 'maxJsonDepth', flag: 'max-json-depth', env: 'WEFT_MAX_JSON_DEPTH', kind: 'integer', default: '64', description: 'Deepest nesting of arrays and objects in a JSON request body (1 to 512; 400 JSON_TOO_DEEP beyond)' },
  { key: 'shutdownTimeout', flag: 'shutdown-timeout', env: 'WEFT_SHUTDOWN_TIMEOUT', kind: 'duration', default: '30s', description: 'On SIGTERM, how long in-flight requests may take before the node exits anyway; on DELETE /admin/apps/NAME, how long that app\'s in-flight requests may take before they are ended' },
  { key: 'dataDir', flag: 'data-dir', env: 'WEFT_DATA_DIR', kind: 'string', default: 'auto', description: 'The node\'s data folder: content-addressed store and compiled component cache (auto: $XDG_DATA_HOME/weft, else ~/.weft)' },
  { key: 'app', flag: 'app', env: 'WEFT_APP', kind: 'list', default: undefined, description: 'App to serve: an app folder, OCI layout folder, store tag or registry reference host[:port]/repo:tag (repeatable)' },
  { key: 'trustedKeys', flag: 'trusted-keys', env: 'WEFT_TRUSTED_KEYS', kind: 'list', default: undefined, description: 'PEM public keys (files, or folders of *.pem/*.pub) whose signatures the node accepts on bundles' },
  { key: 'watch', flag: 'watch', env: 'WEFT_WATCH', kind: 'boolean', default: 'false', description: 'Rebuild and redeploy each --app folder when its source or weft.json changes (development)' },
  { key: 'allowUnsigned', flag: 'allow-unsigned', env: 'WEFT_ALLOW_UNSIGNED', kind: 'boolean', default: 'false', description: 'Serve apps without a signature from a trusted key (app folders, unsigned bundles); digests are still checked' },
  { key: 'adminToken', secret: true, flag: 'admin-token', env: 'WEFT_ADMIN_TOKEN', kind: 'string', default: undefined, description: 'An API key with the admin scope (tenant "admin"); like any key, once set every API asks for a key' },
  // Access (src/auth, docs/security.md): API keys with a tenant and scopes, per-tenant limits, TLS.
  { key: 'apiKey', secret: true, flag: 'api-key', env: 'WEFT_API_KEYS', kind: 'list', default: undefined, description: 'An API key defined in config as TENANT:SCOPE[+SCOPE...]:KEY, e.g. acme:infer:ppocr-*+metrics:s3cret (repeatable); keys made with `weft apikey create` live hashed in <data-dir>/keys.json' },
  { key: 'insecure', flag: 'insecure', env: 'WEFT_INSECURE', kind: 'boolean', default: 'false', description: 'Serve a non-loopback --host without any API key (auth off for everyone who can reach it)' },
  { key: 'tenantRate', flag: 'tenant-rate', env: 'WEFT_TENANT_RATE', kind: 'number', default: '0', description: 'Default requests per second per tenant, bursts up to one second of it (0: unlimited); a key may set its own' },
  { key: 'tenantConcurrency', flag: 'tenant-concurrency', env: 'WEFT_TENANT_CONCURRENCY', kind: 'integer', default: '0', description: 'Default requests one tenant may have in flight at once (0: unlimited); a key may set its own' },
  { key: 'tenantTokensPerMinute', flag: 'tenant-tokens-per-minute', env: 'WEFT_TENANT_TOKENS_PER_MINUTE', kind: 'integer', default: '0', description: 'Default language-model tokens (prompt and completion) one tenant may use per minute (0: unlimited); a key may set its own' },
  { key: 'tenantMonthlyTokens', flag: 'tenant-monthly-tokens', env: 'WEFT_TENANT_MONTHLY_TOKENS', kind: 'integer', default: '0', description: 'Default language-model tokens one tenant may use per calendar month, UTC (0: unlimited); counted in <data-dir>/usage.json, or fleet-wide; a key may set its own' },
  { key: 'tenantMonthlyJoules', flag: 'tenant-monthly-joules', env: 'WEFT_TENANT_MONTHLY_JOULES', kind: 'number', default: '0', description: 'Default joules one tenant\'s requests may be attributed per calendar month, UTC, measured or estimated (0: unlimited); a key may set its own' },
  { key: 'tenantWeight', flag: 'tenant-weight', env: 'WEFT_TENANT_WEIGHTS', kind: 'list', default: undefined, description: 'A tenant\'s weight in fair queueing as TENANT=WEIGHT, e.g. acme=3: while tenants wait, acme gets 3 turns to a weight-1 tenant\'s one, in each model queue (after priority) and at admission (repeatable; others weigh 1)' },
  { key: 'admissionSlots', flag: 'admission-slots', env: 'WEFT_ADMISSION_SLOTS', kind: 'integer', default: '64', description: 'With API keys, inference requests admitted to the engine at once; more wait, served in fair turns between tenants by --tenant-weight (0: no gate)' },
  { key: 'tlsCert', flag: 'tls-cert', env: 'WEFT_TLS_CERT', kind: 'string', default: undefined, description: 'PEM certificate (chain) file: serve HTTPS instead of HTTP (with --tls-key); reloaded when it or the key changes' },
  { key: 'tlsKey', flag: 'tls-key', env: 'WEFT_TLS_KEY', kind: 'string', default: undefined, description: 'PEM private key file of --tls-cert' },
  { key: 'tlsClientCa', flag: 'tls-client-ca', env: 'WEFT_TLS_CLIENT_CA', kind: 'string', default: undefined, description: 'PEM CA file: HTTPS clients must present a certificate it signed (mutual TLS; with --tls-cert); reloaded when it changes' },
  { key: 'registryUsername', flag: 'registry-username', env: 'WEFT_REGISTRY_USERNAME', kind: 'string', default: undefined, description: 'Registry user for push and pull, sent only to --registry-host (else ~/.docker/config.json auths)' },
  { key: 'registryPassword', secret: true, flag: 'registry-password', env: 'WEFT_REGISTRY_PASSWORD', kind: 'string', default: undefined, description: 'Registry password or token for push and pull' },
  { key: 'registryHost', flag: 'registry-host', env: 'WEFT_REGISTRY_HOST', kind: 'string', default: undefined, description: 'The registry --registry-username/--registry-password belong to (unset: only the registry a `weft push` or `weft pull` names)' },
  { key: 'registryTokenHosts', flag: 'registry-token-host', env: 'WEFT_REGISTRY_TOKEN_HOSTS', kind: 'list', default: undefined, description: 'Token services on another host than their registry that may receive its credentials (auth.docker.io for registry-1.docker.io is built in)' },
  { key: 'dockerConfig', flag: 'docker-config', env: 'WEFT_DOCKER_CONFIG', kind: 'string', default: 'auto', description: 'Docker config file whose `auths` hold registry credentials (auto: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)' },
  { key: 'insecureRegistries', flag: 'insecure-registry', env: 'WEFT_INSECURE_REGISTRIES', kind: 'list', default: undefined, description: 'Registry hosts spoken to over plain http (loopback hosts always are)' },
  { key: 'uploadChunkSize', flag: 'upload-chunk-size', env: 'WEFT_UPLOAD_CHUNK_SIZE', kind: 'bytes', default: '16MiB', description: 'Blobs up to this size are pushed in one streamed PUT, larger ones in chunks of this size' },
  { key: 'registryTimeout', flag: 'registry-timeout', env: 'WEFT_REGISTRY_TIMEOUT', kind: 'duration', default: '30s', description: 'How long a registry or its token service may take to answer a request (connect, status and headers) before it fails with REGISTRY_ERROR, as an unreachable one does (0: no limit)' },
  { key: 'registryIdleTimeout', flag: 'registry-idle-timeout', env: 'WEFT_REGISTRY_IDLE_TIMEOUT', kind: 'duration', default: '60s', description: 'How long a blob or manifest download or upload may go without a byte moving before it fails with REGISTRY_ERROR; a slow transfer that keeps moving is never cut (0: no limit)' },
  { key: 'logLevel', flag: 'log-level', env: 'WEFT_LOG_LEVEL', kind: 'choice', choices: ['debug', 'info', 'warn', 'error'], default: 'info', description: 'Least severe log level written to stderr' },
  // Telemetry. Tracing turns on through the standard OTEL_* variables; it is off by default.
  { key: 'tracesExporter', flag: 'traces-exporter', env: 'OTEL_TRACES_EXPORTER', kind: 'choice', choices: ['none', 'otlp'], default: 'none', description: 'Trace export: none (tracing off, no spans made) or otlp' },
  { key: 'otlpEndpoint', flag: 'otlp-endpoint', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', kind: 'string', default: 'http://localhost:4318', description: 'OTLP/HTTP base URL; traces go to <url>/v1/traces' },
  { key: 'otlpTracesEndpoint', flag: 'otlp-traces-endpoint', env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', kind: 'string', default: undefined, description: 'Full OTLP/HTTP URL for traces (overrides --otlp-endpoint)' },
  { key: 'otlpProtocol', flag: 'otlp-protocol', env: 'OTEL_EXPORTER_OTLP_PROTOCOL', kind: 'choice', choices: ['http/protobuf', 'http/json'], default: 'http/protobuf', description: 'OTLP encoding' },
  { key: 'serviceName', flag: 'service-name', env: 'OTEL_SERVICE_NAME', kind: 'string', default: 'weft', description: 'service.name of exported traces' },
  { key: 'tracesSampler', flag: 'traces-sampler', env: 'OTEL_TRACES_SAMPLER', kind: 'choice', choices: ['parentbased_traceidratio', 'traceidratio', 'parentbased_always_on', 'always_on', 'always_off'], default: 'parentbased_traceidratio', description: 'Head sampler; errors and slow requests are kept whatever it says (tail rules)' },
  { key: 'tracesSamplerArg', flag: 'traces-sampler-arg', env: 'OTEL_TRACES_SAMPLER_ARG', kind: 'number', default: '1', description: 'Head sampling ratio from 0 to 1 for the *traceidratio samplers' },
  { key: 'traceSlowThreshold', flag: 'trace-slow-threshold', env: 'WEFT_TRACE_SLOW_THRESHOLD', kind: 'duration', default: '1s', description: 'Requests at least this slow are always kept by the tail sampler' },
  { key: 'captureContent', flag: 'capture-content', env: 'WEFT_CAPTURE_CONTENT', kind: 'boolean', default: 'false', description: 'Record prompts and completions on spans (redacted); never recorded otherwise' },
  { key: 'redactPatterns', flag: 'redact-pattern', env: 'WEFT_REDACT_PATTERNS', kind: 'list', default: undefined, description: 'Extra regular expressions redacted from captured content (e-mail, API keys, card numbers always are)' },
  { key: 'metricsCompat', flag: 'metrics-compat', env: 'WEFT_METRICS_COMPAT', kind: 'choice', choices: ['none', 'vllm'], default: 'none', description: 'Also export the model-server protocol gauges under vLLM\'s names (vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc), which endpoint pickers read by default' },
  { key: 'callerHeader', flag: 'caller-header', env: 'WEFT_CALLER_HEADER', kind: 'string', default: 'x-weft-tenant', description: 'Header naming the caller for per-caller aggregates (else the Authorization key); stored hashed' },
  { key: 'callerNames', flag: 'caller-names', env: 'WEFT_CALLER_NAMES', kind: 'list', default: undefined, description: 'A tenant whose caller id /admin/stats lists by name (repeatable; comma-separated in the env var). Ids are a keyed hash, the key in <data-dir>/caller-secret' },
  { key: 'callerTopK', flag: 'caller-top-k', env: 'WEFT_CALLER_TOP_K', kind: 'integer', default: '20', description: 'Callers with their own metric series; the rest count as "other"' },
  { key: 'energy', flag: 'energy', env: 'WEFT_ENERGY', kind: 'choice', choices: ['auto', 'rapl', 'nvidia', 'estimate', 'off'], default: 'auto', description: 'Energy meters: auto (RAPL and nvidia-smi where readable, else the estimator), one of them, or off' },
  { key: 'raplRoot', flag: 'rapl-root', env: 'WEFT_RAPL_ROOT', kind: 'string', default: '/sys/class/powercap', description: 'powercap sysfs root holding intel-rapl:N zones' },
  { key: 'nvidiaSmi', flag: 'nvidia-smi', env: 'WEFT_NVIDIA_SMI', kind: 'string', default: 'nvidia-smi', description: 'nvidia-smi command used to read GPU power' },
  { key: 'cpuWattsPerCore', flag: 'cpu-watts-per-core', env: 'WEFT_CPU_WATTS_PER_CORE', kind: 'number', default: '10', description: 'Estimator: watts per fully busy CPU core' },
  { key: 'idleWatts', flag: 'idle-watts', env: 'WEFT_IDLE_WATTS', kind: 'number', default: '10', description: 'Estimator: node idle power shared among the work it does' },
  { key: 'gpuTdpWatts', flag: 'gpu-tdp-watts', env: 'WEFT_GPU_TDP_WATTS', kind: 'number', default: '300', description: 'Estimator: GPU power while busy' },
  { key: 'energyInterval', flag: 'energy-interval', env: 'WEFT_ENERGY_INTERVAL', kind: 'duration', default: '1s', description: 'How often energy meters are read' },
  // Fleet (docs/fleet.md). Without --fleet the node is a fleet of one and none of these apply.
  { key: 'fleet', flag: 'fleet', env: 'WEFT_FLEET', kind: 'list', default: undefined, description: 'NATS server URLs of the fleet to join, nats://host:4222 (repeatable or comma-separated)' },
  { key: 'site', flag: 'site', env: 'WEFT_SITE', kind: 'string', default: 'default', description: 'Site (data centre, edge location) this node is in; placement can spread over sites' },
  { key: 'label', flag: 'label', env: 'WEFT_LABEL', kind: 'list', default: undefined, description: 'Node label as k=v that `weft deploy --select` matches (repeatable)' },
  { key: 'nodeName', flag: 'node-name', env: 'WEFT_NODE_NAME', kind: 'string', default: 'auto', description: 'Name of this node in the fleet (auto: hostname and a random suffix)' },
  { key: 'natsCreds', flag: 'nats-creds', env: 'WEFT_NATS_CREDS', kind: 'string', default: undefined, description: 'NATS credentials file (JWT and NKey seed) for the fleet connection' },
  { key: 'natsUser', flag: 'nats-user', env: 'WEFT_NATS_USER', kind: 'string', default: undefined, description: 'NATS user name for the fleet connection' },
  { key: 'natsPassword', secret: true, flag: 'nats-password', env: 'WEFT_NATS_PASSWORD', kind: 'string', default: undefined, description: 'NATS password for the fleet connection' },
  { key: 'natsToken', secret: true, flag: 'nats-token', env: 'WEFT_NATS_TOKEN', kind: 'string', default: undefined, description: 'NATS token for the fleet connection' },
  { key: 'natsCa', flag: 'nats-ca', env: 'WEFT_NATS_CA', kind: 'string', default: undefined, description: 'CA certificate file the NATS servers\' TLS certificates must chain to (turns TLS on)' },
  { key: 'natsDomain', flag: 'nats-domain', env: 'WEFT_NATS_DOMAIN', kind: 'string', default: undefined, description: 'JetStream domain holding the fleet\'s buckets (an edge node on a leaf server with its own domain names the hub\'s)' },
  { key: 'powerBudget', flag: 'power-budget', env: 'WEFT_POWER_BUDGET', kind: 'number', default: undefined, description: 'Watts this node may draw: at or above it (measured or estimated) the fleet places no new replica on it' },
  { key: 'powerPolicy', flag: 'power-policy', env: 'WEFT_POWER_POLICY', kind: 'choice', choices: ['spread', 'pack'], default: 'spread', description: 'Fleet placement: spread (latency, resilience) or pack (as few nodes awake as the load needs)' },
  { key: 'heartbeatInterval', flag: 'heartbeat-interval', env: 'WEFT_HEARTBEAT_INTERVAL', kind: 'duration', default: '2s', description: 'How often the node reports to the fleet; it counts as gone after 3 missed, and so does a scheduler lease' },
  { key: 'fleetReplicas', flag: 'fleet-replicas', env: 'WEFT_FLEET_REPLICAS', kind: 'integer', default: '1', description: 'JetStream replicas of the fleet buckets when this node creates them (3 on a 3-server cluster survives a server lost)' },
  { key: 'scaleCooldown', flag: 'scale-cooldown', env: 'WEFT_SCALE_COOLDOWN', kind: 'duration', default: '30s', description: 'Time between two autoscaling changes of one app' },
  // Routing across the fleet (docs/fleet.md, "Routing").
  { key: 'routeSpillQueue', flag: 'route-spill-queue', env: 'WEFT_ROUTE_SPILL_QUEUE', kind: 'integer', default: '8', description: 'Requests in flight here for one model or app above which a less loaded replica elsewhere in the fleet serves' },
  { key: 'routeWeightQueue', flag: 'route-weight-queue', env: 'WEFT_ROUTE_WEIGHT_QUEUE', kind: 'number', default: '1', description: 'Replica score: weight per queued or in-flight request' },
  { key: 'routeWeightLatency', flag: 'route-weight-latency', env: 'WEFT_ROUTE_WEIGHT_LATENCY', kind: 'number', default: '1', description: 'Replica score: weight per millisecond of recent latency' },
  { key: 'routeWeightSite', flag: 'route-weight-site', env: 'WEFT_ROUTE_WEIGHT_SITE', kind: 'number', default: '8', description: 'Replica score: added for a replica outside this node\'s site' },
  { key: 'routeWeightEnergy', flag: 'route-weight-energy', env: 'WEFT_ROUTE_WEIGHT_ENERGY', kind: 'number', default: '1', description: 'Replica score: weight per joule per request' },
  { key: 'routeIdleTimeout', flag: 'route-idle-timeout', env: 'WEFT_ROUTE_IDLE_TIMEOUT', kind: 'duration', default: '3s', description: 'A forwarded request whose node is silent this long is retried on another replica (before its response started)' },
  { key: 'routeTimeout', flag: 'route-timeout', env: 'WEFT_ROUTE_TIMEOUT', kind: 'duration', default: '60s', description: 'Deadline of a forwarded request that carries no x-weft-deadline' },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof settings)[number]['key'];
