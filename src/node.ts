// Composition root: builds one Weft node from its config — backends, the engine's model service,
// sandbox, app deployer, HTTP and gRPC servers, the fleet — and owns its start and graceful stop.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiServer, ConnectionLimit, GrpcServer, StallWatch, readTls, watchTls } from './api/index.js';
import { BodyBudget } from './http/index.js';
import { AppDeployer } from './apps/index.js';
import { KeyStore, MonthlyUsage, TenantLimits } from './auth/index.js';
import { loadTrustedKeys, openAppFolder } from './bundle/index.js';
import { LlamaBackend, OnnxBackend } from './backends/index.js';
import type { NodeConfig } from './config/index.js';
import { ErrorCode, WeftError } from './errors.js';
import { ModelService, resolveModels } from './engine/index.js';
import { FleetRouter, openFleet, type FleetHandle } from './fleet/index.js';
import { Sandbox } from './sandbox/index.js';
import { createLogger, Telemetry, type Logger } from './telemetry/index.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The OCR example app with the PaddleOCR models it carries (`npm run build` copies them in): the embedded default. */
const EMBEDDED_APP = fileURLToPath(new URL('../examples/ocr/', import.meta.url));

function servesEmbeddedDefault(config: Readonly<NodeConfig>): boolean {
  return config.models === undefined && config.model.length === 0 && config.upstream.length === 0 && config.app.length === 0;
}

export interface WeftNode {
  readonly address: AddressInfo;
  /** Port of the gRPC service; undefined when --grpc-port is 0. */
  readonly grpcPort: number | undefined;
  /** Every model of the node, of every kind. */
  readonly engine: ModelService;
  readonly telemetry: Telemetry;
  readonly sandbox: Sandbox;
  readonly apps: AppDeployer;
  /** Stops accepting, finishes in-flight requests (up to the shutdown timeout), unloads models. */
  stop(): Promise<void>;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Decides whether auth is on, once every key is known (a fleet's too): a reachable node without
 * keys is refused.
 */
function checkKeys(keys: KeyStore, config: Readonly<NodeConfig>, log: Logger): void {
  if (keys.enabled()) return;
  if (!isLoopbackHost(config.host) && !config.insecure) {
    throw new WeftError(ErrorCode.InvalidConfig, `refusing to serve ${config.host} without API keys: anyone who can reach it could use it. Create a key first (weft apikey create --tenant T --scope admin --data-dir ${config.dataDir}), or pass --insecure`, { field: 'host' });
  }
  log.info(isLoopbackHost(config.host) ? 'auth is off: no API keys, and only this machine can connect (weft apikey create turns it on)' : 'auth is off: no API keys and --insecure; anyone who can reach the node may use it');
}

export async function startNode(config: Readonly<NodeConfig>, log: Logger = createLogger(config.logLevel)): Promise<WeftNode> {
  // A node joining a fleet asks every caller for a key until it has read the fleet's keys.
  const keys = await KeyStore.open({ dataDir: config.dataDir, configKeys: config.apiKey, adminToken: config.adminToken, fleet: config.fleet.length > 0 });
  if (config.fleet.length === 0) checkKeys(keys, config, log);
  // One set of tenant limits for HTTP and gRPC alike.
  const usage = MonthlyUsage.open(config.dataDir, log);
  const limits = new TenantLimits({ rate: config.tenantRate, concurrency: config.tenantConcurrency, tokensPerMinute: config.tenantTokensPerMinute, monthlyTokens: config.tenantMonthlyTokens, monthlyJoules: config.tenantMonthlyJoules, usage, slots: config.admissionSlots, maxWaiting: config.maxQueueSize, waitTimeoutMs: config.queueTimeout, weights: config.tenantWeight });
  const tlsFiles = config.tlsCert === undefined || config.tlsKey === undefined ? undefined : { cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa };
  const tls = tlsFiles === undefined ? undefined : readTls(tlsFiles);
  const telemetry = await Telemetry.create(config, { version: VERSION, log });
  const definitions = resolveModels(config, (message) => log.warn(message));
  const engine = new ModelService(definitions, {
    tensorBackend: new OnnxBackend({ warn: (message) => log.warn(message) }),
    llamaBackend: new LlamaBackend({ warn: (message) => log.warn(message) }),
    // Without GPU discovery yet, the cuda budget equals the configured one.
    memoryBudget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
    log,
    healthIntervalMs: config.upstreamHealthInterval,
    retryMs: config.upstreamRetry,
    observer: telemetry,
  });
  telemetry.watchModels(() => engine.status());
  telemetry.watchLanguageModels(() => engine.languageModels().map((m) => ({ name: m.name, waiting: m.queued, running: m.inflight, kvCacheUsage: m.kvCacheUsage })));
  const sandbox = new Sandbox({ engine, log, dataDir: config.dataDir, onInstanceStart: (app) => telemetry.componentStarted(app) });
  const trustedKeys = loadTrustedKeys(config.trustedKeys);
  const apps = new AppDeployer({ engine, sandbox, config, trustedKeys, log });
  try {
    for (const ref of config.app) await apps.deploy(ref);
    if (servesEmbeddedDefault(config)) {
      if (existsSync(`${EMBEDDED_APP}/build/ocr.wasm`) && existsSync(`${EMBEDDED_APP}/models`)) await apps.install(openAppFolder(EMBEDDED_APP), 'embedded', []);
      else log.warn('the embedded OCR app is not built (npm run build builds it and copies its models in); serving no models');
    }
    await engine.start();
  } catch (err) {
    await sandbox.close();
    await engine.shutdown();
    await telemetry.shutdown();
    throw err;
  }
  // Fleet (src/fleet, docs/fleet.md): joined over NATS with --fleet, else a fleet of one.
  let fleet: FleetHandle | undefined;
  let router: FleetRouter | undefined;
  // The bytes of large request bodies held at once, HTTP's and gRPC's together (--max-body-memory),
  // the connections both ports hold (--max-connections), and answers their clients do not take
  // (--send-timeout).
  const bodyBudget = new BodyBudget(config.maxBodyMemory);
  const connections = new ConnectionLimit(config.maxConnections, telemetry, log);
  const stalls = new StallWatch(config.sendTimeout, telemetry, log);
  const server = new ApiServer({
    engine,
    sandbox,
    log,
    host: config.host,
    port: config.port,
    maxBodySize: config.maxBodySize,
    bodyBudget,
    maxHeaderSize: config.maxHeaderSize,
    requestTimeout: config.requestTimeout,
    stalls,
    connections,
    maxJsonDepth: config.maxJsonDepth,
    version: VERSION,
    telemetry,
    callerHeader: config.callerHeader,
    deployer: apps,
    keys,
    limits,
    tls,
    fleet: () => fleet,
    router: () => router,
    nodeName: config.nodeName,
  });
  const address = await server.listen();
  // The same protocol over gRPC (src/api/grpc), on its own port, calling the same engine.
  const grpc = config.grpcPort === 0 ? undefined : new GrpcServer({
    engine, keys, limits, telemetry, log, version: VERSION, callerHeader: config.callerHeader, maxMessageSize: config.maxBodySize, maxStreams: config.grpcMaxStreams, bodyBudget, connections, stalls, requestTimeout: config.requestTimeout, router: () => router, tls, nodeName: config.nodeName,
  });
  // A renewed certificate is picked up without a restart, by HTTPS and gRPC alike.
  const stopTlsWatch = tlsFiles === undefined ? undefined : watchTls(tlsFiles, (pair) => {
    server.setTls(pair);
    grpc?.setTls(pair);
  }, log);
  let grpcPort: number | undefined;
  try {
    grpcPort = await grpc?.listen(config.host, config.grpcPort);
    fleet = await openFleet({
      config, url: `${tls === undefined ? 'http' : 'https'}://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`, version: VERSION, runtime: apps, trustedKeys, log,
      budget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
      // Every model, language models with the weights and KV cache they hold in the one budget.
      models: () => engine.status().map((m) => ({ name: m.name, device: m.device ?? (m.kind === 'language' ? ('cpu' as const) : undefined), memoryBytes: m.memoryBytes, language: m.kind === 'language' })),
      stats: () => telemetry.stats(),
    });
    if (fleet.tenantBuckets !== undefined) limits.share(fleet.tenantBuckets, fleet.tenantInflight);
    if (fleet.usageCounters !== undefined) usage.share(fleet.usageCounters);
    if (fleet.keys !== undefined) {
      keys.share(fleet.keys);
      checkKeys(keys, config, log);
    }
  } catch (err) {
    await fleet?.leave();
    stopTlsWatch?.();
    await Promise.all([server.drain(0), grpc?.drain(0)]);
    await sandbox.close();
    await engine.shutdown();
    await telemetry.shutdown();
    throw err;
  }
  if (fleet.mesh !== undefined) {
    // Routing (src/fleet/router): any node answers for every model and app of the fleet.
    router = new FleetRouter({
      nc: fleet.mesh.nc,
      node: config.nodeName,
      site: config.site,
      nodes: fleet.mesh.liveNodes,
      local: (t) => (t.kind === 'app' ? sandbox.names().includes(t.name) : engine.has(t.name)),
      handler: (request) => server.app.fetch(request),
      weights: { queue: config.routeWeightQueue, latency: config.routeWeightLatency, site: config.routeWeightSite, energy: config.routeWeightEnergy },
      spillQueue: config.routeSpillQueue,
      idleTimeoutMs: config.routeIdleTimeout,
      requestTimeoutMs: config.routeTimeout,
      callerHeader: config.callerHeader,
      version: VERSION,
      log,
    });
    router.serve();
  }
  log.info('weft node listening', {
    url: `${tls === undefined ? 'http' : 'https'}://${address.address}:${address.port}`,
    grpc: grpcPort === undefined ? 'off' : `${address.address}:${grpcPort}`,
    models: engine.names().join(','),
    apps: sandbox.names().join(','),
  });

  let stopping: Promise<void> | undefined;
  return {
    address,
    grpcPort,
    engine,
    telemetry,
    sandbox,
    apps,
    stop: () =>
      (stopping ??= (async () => {
        // Draining waits on unref'd timers; without a ref'd handle the process could exit in
        // the middle, before models are released and kept traces are flushed.
        const hold = setInterval(() => undefined, 60_000);
        try {
          log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
          router?.close();
          stopTlsWatch?.();
          if (fleet !== undefined) await usage.flush();
          await fleet?.leave();
          await Promise.all([server.drain(config.shutdownTimeout), grpc?.drain(config.shutdownTimeout)]);
          await sandbox.close();
          await engine.shutdown();
          await telemetry.shutdown();
          await usage.close();
          log.info('stopped');
        } finally {
          clearInterval(hold);
        }
      })()),
  };
}
