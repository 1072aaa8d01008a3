// Builds the frozen node config from defaults, a config file, WEFT_* variables and flags (later
// wins). Unknown keys and malformed values are errors naming the setting, never ignored.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { settings, type Setting } from './settings.js';

export interface NodeConfig {
  host: string;
  port: number;
  /** Port of the Open Inference Protocol's gRPC service; 0: none. */
  grpcPort: number;
  /** Model repository folder, if any. */
  models: string | undefined;
  /** Single models as [name, path]. */
  model: ReadonlyArray<readonly [string, string]>;
  load: 'lazy' | 'eager';
  device: 'cpu' | 'cuda';
  /** Bytes. */
  memoryBudget: number;
  /** Milliseconds; -1 keeps models until evicted. */
  keepAlive: number;
  maxBatchSize: number;
  /** Learn online which batch sizes pay (engine/batch-profile.ts). */
  adaptiveBatching: boolean;
  /** Microseconds. */
  maxQueueDelay: number;
  maxQueueSize: number;
  /** Milliseconds. */
  queueTimeout: number;
  instances: number;
  intraOpThreads: number;
  /** LLM upstreams as [name, url]; a name may repeat. */
  upstream: ReadonlyArray<readonly [string, string]>;
  llmContextSize: number;
  llmParallel: number;
  llmThreads: number;
  /** Default max_tokens of a GGUF generation. */
  llmDefaultMaxTokens: number;
  /** Milliseconds. */
  upstreamHealthInterval: number;
  /** Milliseconds. */
  upstreamRetry: number;
  /** Bytes. */
  maxBodySize: number;
  /** Bytes of large bodies held at once (resolved from 'auto'); 0: no limit. */
  maxBodyMemory: number;
  /** Bytes. */
  maxHeaderSize: number;
  /** Connections the HTTP API holds at once (resolved from 'auto'); 0: no limit. */
  maxConnections: number;
  /** Calls open at once on one gRPC connection; 0: no limit. */
  grpcMaxStreams: number;
  /** Milliseconds a client may take to send a request; 0: no limit. */
  requestTimeout: number;
  /** Milliseconds an answer may wait for a client that reads none of it; 0: no limit. */
  sendTimeout: number;
  maxJsonDepth: number;
  /** Milliseconds. */
  shutdownTimeout: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  tracesExporter: 'none' | 'otlp';
  otlpEndpoint: string;
  otlpTracesEndpoint: string | undefined;
  otlpProtocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  tracesSampler: 'parentbased_traceidratio' | 'traceidratio' | 'parentbased_always_on' | 'always_on' | 'always_off';
  tracesSamplerArg: number;
  /** Milliseconds. */
  traceSlowThreshold: number;
  captureContent: boolean;
  redactPatterns: readonly string[] | undefined;
  /** 'vllm': the protocol gauges under vLLM's names too. */
  metricsCompat: 'none' | 'vllm';
  callerHeader: string;
  callerTopK: number;
  callerNames: readonly string[] | undefined;
  energy: 'auto' | 'rapl' | 'nvidia' | 'estimate' | 'off';
  raplRoot: string;
  nvidiaSmi: string;
  cpuWattsPerCore: number;
  idleWatts: number;
  gpuTdpWatts: number;
  /** Milliseconds. */
  energyInterval: number;
  /** The node's data folder: store and component cache; absolute, from 'auto' or with '~' expanded. */
  dataDir: string;
  /** App references to serve at start. */
  app: readonly string[];
  /** PEM files or folders of trusted public keys. */
  trustedKeys: readonly string[];
  allowUnsigned: boolean;
  /** Rebuild and redeploy app folders on change (`weft serve --watch`). */
  watch: boolean;
  adminToken: string | undefined;
  /** API keys from config, as TENANT:SCOPES:KEY (parsed by src/auth). */
  apiKey: readonly string[];
  insecure: boolean;
  /** Requests per second per tenant; 0: unlimited. */
  tenantRate: number;
  tenantConcurrency: number;
  /** Language-model tokens per minute per tenant; 0: unlimited. */
  tenantTokensPerMinute: number;
  tenantMonthlyTokens: number;
  tenantMonthlyJoules: number;
  /** Fair-queueing weight per tenant, from --tenant-weight TENANT=WEIGHT. */
  tenantWeight: ReadonlyMap<string, number>;
  admissionSlots: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** CA that client certificates must chain to (mutual TLS). */
  tlsClientCa: string | undefined;
  registryUsername: string | undefined;
  registryPassword: string | undefined;
  /** The one registry the flag credentials are sent to; unset: the registry a push or pull command names. */
  registryHost: string | undefined;
  /** Token realms on other hosts that may receive a registry's credentials. */
  registryTokenHosts: readonly string[];
  /** Docker config file path (resolved from 'auto'). */
  dockerConfig: string;
  insecureRegistries: readonly string[];
  /** Bytes. */
  uploadChunkSize: number;
  /** Milliseconds; 0: no limit. */
  registryTimeout: number;
  /** Milliseconds; 0: no limit. */
  registryIdleTimeout: number;
  /** NATS URLs of the fleet; empty: no fleet. */
  fleet: readonly string[];
  site: string;
  /** Node labels from --label k=v. */
  label: Readonly<Record<string, string>>;
  /** Resolved from 'auto'. */
  nodeName: string;
  natsCreds: string | undefined;
  natsUser: string | undefined;
  natsPassword: string | undefined;
  natsToken: string | undefined;
  natsCa: string | undefined;
  natsDomain: string | undefined;
  /** Watts. */
  powerBudget: number | undefined;
  powerPolicy: 'spread' | 'pack';
  /** Milliseconds. */
  heartbeatInterval: number;
  fleetReplicas: number;
  /** Milliseconds. */
  scaleCooldown: number;
  routeSpillQueue: number;
  routeWeightQueue: number;
  routeWeightLatency: number;
  routeWeightSite: number;
  routeWeightEnergy: number;
  /** Milliseconds. */
  routeIdleTimeout: number;
  /** Milliseconds. */
  routeTimeout: number;
}

export interface ConfigSources {
  /** Parsed command-line flags: flag name → value(s). */
  flags?: Record<string, string | string[] | undefined>;
  /** Environment, usually process.env. */
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file whose keys are the settings' keys. */
  file?: string;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const DURATIONS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function fail(setting: Setting, raw: string, why: string): never {
  throw new WeftError(ErrorCode.InvalidConfig, `setting '${setting.key}' (--${setting.flag}, ${setting.env}): '${raw}' ${why}`, {
    field: setting.key,
  });
}

/** What a size or a duration may look like; weft.json's schema publishes the same patterns. */
export const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)?$/;

export function parseBytes(raw: string): number | undefined {
  const m = SIZE_PATTERN.exec(raw.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

/** A size as people read it: 512 B, 1.5 KiB, 64.0 MiB, 2.0 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Milliseconds for "250ms", "30s", "5m", "1h", "100us"; a bare number is seconds; "-1" stays -1. */
export function parseDuration(raw: string): number | undefined {
  const trimmed = raw.trim();
  if (trimmed === '-1') return -1;
  const m = DURATION_PATTERN.exec(trimmed);
  if (!m) return undefined;
  return Number(m[1]) * DURATIONS[m[2] ?? 's']!;
}

function convert(setting: Setting, raw: string | string[]): unknown {
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  switch (setting.kind) {
    case 'string':
      return text;
    case 'integer': {
      if (text === 'auto' && setting.default === 'auto') return 'auto';
      if (!/^-?\d+$/.test(text.trim())) fail(setting, text, 'is not an integer');
      const n = Number(text);
      if (n < 0) fail(setting, text, 'must not be negative');
      return n;
    }
    case 'number': {
      const n = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(n)) fail(setting, text, 'is not a number');
      if (n < 0) fail(setting, text, 'must not be negative');
      return n;
    }
    case 'boolean':
      if (!['true', 'false', '1', '0'].includes(text)) fail(setting, text, 'is not true or false');
      return text === 'true' || text === '1';
    case 'choice':
      if (!setting.choices?.includes(text)) fail(setting, text, `is not one of ${setting.choices?.join(', ')}`);
      return text;
    case 'bytes': {
      if (text === 'auto') return 'auto';
      const n = parseBytes(text);
      if (n === undefined) fail(setting, text, 'is not a size such as 512MiB or 4GB');
      return n;
    }
    case 'duration': {
      const n = parseDuration(text);
      if (n === undefined) fail(setting, text, 'is not a duration such as 250ms, 30s or 5m');
      return n;
    }
    case 'list':
      return (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  }
}

/**
 * --max-body-memory's 'auto': an eighth of RAM (a 2 GiB edge box holds 256 MiB of bodies at once,
 * this 23.5 GiB one 2.9 GiB), at most 4 GiB, and always room for two of the largest bodies.
 */
function resolveBodyMemory(out: Record<string, unknown>): void {
  const maxBodySize = out.maxBodySize as number;
  if (out.maxBodyMemory === 'auto') out.maxBodyMemory = Math.max(2 * maxBodySize, Math.min(4 * 1024 ** 3, Math.floor(os.totalmem() / 8)));
  const memory = out.maxBodyMemory as number;
  if (memory !== 0 && memory < maxBodySize) fail(settings.find((s) => s.key === 'maxBodyMemory')!, String(memory), `must be at least --max-body-size (${maxBodySize} bytes), or 0 for no limit`);
}

/**
 * Three quarters of the process's open-file limit (Linux says it in /proc/self/limits; Node has
 * already raised the soft limit to the hard one), so connections alone cannot take the
 * descriptors the node needs for its models, store and fleet; 0 (no limit) where it is not known.
 */
export function connectionsForFileLimit(limits = '/proc/self/limits'): number {
  let text: string;
  try {
    text = readFileSync(limits, 'utf8');
  } catch {
    return 0;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return soft === undefined ? 0 : Math.max(64, Math.floor(Number(soft) * 0.75));
}

function parseModelList(setting: Setting, entries: string[]): Array<readonly [string, string]> {
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) fail(setting, entry, setting.key === 'upstream' ? 'is not NAME=URL' : 'is not NAME=PATH');
    return [entry.slice(0, eq), entry.slice(eq + 1)] as const;
  });
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WeftError(ErrorCode.InvalidConfig, `config file ${path}: must hold a JSON object`);
  }
  const known = new Set<string>(settings.map((s) => s.key));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) {
      throw new WeftError(ErrorCode.InvalidConfig, `config file ${path}: unknown key '${key}' (see \`weft config\`)`, { field: key });
    }
  }
  return parsed as Record<string, unknown>;
}

const FLEET_TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** --tenant-weight TENANT=WEIGHT entries, each weight a number from 0.01 to 1000. */
function resolveTenantWeights(out: Record<string, unknown>): void {
  const setting = settings.find((s) => s.key === 'tenantWeight')!;
  const weights = new Map<string, number>();
  for (const entry of (out.tenantWeight as string[] | undefined) ?? []) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})=([0-9.]+)$/.exec(entry);
    const weight = Number(m?.[2]);
    if (!m || !Number.isFinite(weight) || weight < 0.01 || weight > 1000) fail(setting, entry, 'is not TENANT=WEIGHT with a weight from 0.01 to 1000 (e.g. acme=3)');
    weights.set(m[1]!, weight);
  }
  out.tenantWeight = weights;
}

/** Fleet names become NATS subject tokens and KV keys: checked here, once. */
function resolveFleet(out: Record<string, unknown>): void {
  const setting = (key: string) => settings.find((s) => s.key === key)!;
  if (out.nodeName === 'auto') {
    const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'node';
    out.nodeName = `${host}-${randomBytes(3).toString('hex')}`;
  }
  for (const key of ['nodeName', 'site']) {
    if (!FLEET_TOKEN.test(String(out[key]))) fail(setting(key), String(out[key]), 'must be 1-63 letters, digits, "_" or "-", starting with a letter or digit');
  }
  const labels: Record<string, string> = {};
  for (const entry of (out.label as string[] | undefined) ?? []) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_./-]{0,62})=([A-Za-z0-9_./-]{0,63})$/.exec(entry);
    if (!m) fail(setting('label'), entry, 'is not k=v (letters, digits, "_", ".", "/", "-")');
    labels[m[1]!] = m[2]!;
  }
  out.label = Object.freeze(labels);
  for (const url of out.fleet as string[]) {
    if (!/^(nats|tls|wss?):\/\/[^\s/]+/.test(url)) fail(setting('fleet'), url, 'is not a NATS URL such as nats://host:4222');
  }
  if (out.heartbeatInterval === 0) fail(setting('heartbeatInterval'), '0', 'must be above 0');
  if (out.fleetReplicas === 0 || (out.fleetReplicas as number) > 5) fail(setting('fleetReplicas'), String(out.fleetReplicas), 'must be 1 to 5');
}

/** Resolves every setting once; the result is frozen and passed to whoever needs it. */
const MAX_JSON_DEPTH_LIMIT = 512;

export function loadConfig(sources: ConfigSources = {}): Readonly<NodeConfig> {
  const file = sources.file === undefined ? {} : readConfigFile(sources.file);
  const out: Record<string, unknown> = {};
  for (const setting of settings as readonly Setting[]) {
    const fromFlag = sources.flags?.[setting.flag];
    const fromEnv = sources.env?.[setting.env];
    const fromFile = file[setting.key];
    let raw: string | string[] | undefined = setting.default;
    if (fromFile !== undefined) raw = Array.isArray(fromFile) ? fromFile.map(String) : String(fromFile);
    if (fromEnv !== undefined && fromEnv !== '') raw = fromEnv;
    if (fromFlag !== undefined) raw = fromFlag;
    out[setting.key] = raw === undefined ? undefined : convert(setting, raw);
  }
  const modelSetting = settings.find((s) => s.key === 'model')!;
  out.model = parseModelList(modelSetting, (out.model as string[] | undefined) ?? []);
  const upstreamSetting = settings.find((s) => s.key === 'upstream')!;
  out.upstream = parseModelList(upstreamSetting, (out.upstream as string[] | undefined) ?? []);
  for (const key of ['llmContextSize', 'llmParallel'] as const) {
    if (out[key] === 0) fail(settings.find((s) => s.key === key)!, '0', 'must be at least 1');
  }
  // Walkers of a parsed body recurse: past a few hundred levels the stack, not the setting, would decide.
  if ((out.maxJsonDepth as number) < 1 || (out.maxJsonDepth as number) > MAX_JSON_DEPTH_LIMIT) fail(settings.find((s) => s.key === 'maxJsonDepth')!, String(out.maxJsonDepth), `must be from 1 to ${MAX_JSON_DEPTH_LIMIT}`);
  if (out.memoryBudget === 'auto') out.memoryBudget = Math.floor(os.totalmem() / 2);
  if (out.maxConnections === 'auto') out.maxConnections = connectionsForFileLimit();
  resolveBodyMemory(out);
  if (out.uploadChunkSize === 'auto' || out.uploadChunkSize === 0) fail(settings.find((s) => s.key === 'uploadChunkSize')!, String(out.uploadChunkSize), 'must be a size above 0');
  for (const key of ['app', 'trustedKeys', 'insecureRegistries', 'registryTokenHosts', 'fleet', 'apiKey'] as const) out[key] ??= [];
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) fail(settings.find((s) => s.key === (out.tlsCert === undefined ? 'tlsCert' : 'tlsKey'))!, '', 'is needed too: --tls-cert and --tls-key go together');
  if (out.tlsClientCa !== undefined && out.tlsCert === undefined) fail(settings.find((s) => s.key === 'tlsClientCa')!, String(out.tlsClientCa), 'needs --tls-cert and --tls-key: client certificates are asked for over HTTPS only');
  resolveFleet(out);
  resolveTenantWeights(out);
  const env = sources.env ?? {};
  const home = env.HOME || os.homedir();
  if (out.dataDir === 'auto') out.dataDir = env.XDG_DATA_HOME ? join(env.XDG_DATA_HOME, 'weft') : join(home, '.weft');
  out.dataDir = resolve(String(out.dataDir).replace(/^~(?=$|[\\/])/, home));
  if (out.dockerConfig === 'auto') out.dockerConfig = join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
  return Object.freeze(out as unknown as NodeConfig);
}
