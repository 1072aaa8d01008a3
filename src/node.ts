// Composition root: builds one Weft node from its config — backends, model manager, LLM service,
// sandbox, app deployer, HTTP server — and owns its start and graceful stop.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiServer } from './api/index.js';
import { AppDeployer } from './apps/index.js';
import { loadTrustedKeys, openAppFolder } from './bundle/index.js';
import { LlamaBackend, OnnxBackend } from './backends/index.js';
import type { NodeConfig } from './config/index.js';
import { LlmService, ModelManager, resolveModels } from './engine/index.js';
import { openFleet, type FleetHandle } from './fleet/index.js';
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
  readonly manager: ModelManager;
  readonly telemetry: Telemetry;
  readonly llm: LlmService;
  readonly sandbox: Sandbox;
  readonly apps: AppDeployer;
  /** Stops accepting, finishes in-flight requests (up to the shutdown timeout), unloads models. */
  stop(): Promise<void>;
}

export async function startNode(config: Readonly<NodeConfig>, log: Logger = createLogger(config.logLevel)): Promise<WeftNode> {
  const telemetry = await Telemetry.create(config, { version: VERSION, log });
  const definitions = resolveModels(config);
  const manager = new ModelManager(definitions.filter((d) => d.format === 'onnx'), {
    backend: new OnnxBackend({ warn: (message) => log.warn(message) }),
    // Without GPU discovery yet, the cuda budget equals the configured one.
    memoryBudget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
    log,
    observer: telemetry,
  });
  const llm = new LlmService(definitions.filter((d) => d.format !== 'onnx'), {
    backend: new LlamaBackend({ warn: (message) => log.warn(message) }),
    log,
    healthIntervalMs: config.upstreamHealthInterval,
    retryMs: config.upstreamRetry,
    // One budget per device for every model: GGUF weights count against it too.
    reserveMemory: (name, device, bytes) => manager.reserveExternal(name, device, bytes),
    observer: telemetry,
  });
  telemetry.watchModels(() => [...manager.status(), ...llm.list()]);
  const sandbox = new Sandbox({ manager, llm, log, dataDir: config.dataDir, onInstanceStart: (app) => telemetry.componentStarted(app) });
  const trustedKeys = loadTrustedKeys(config.trustedKeys);
  const apps = new AppDeployer({ manager, llm, sandbox, config, trustedKeys, log });
  try {
    for (const ref of config.app) await apps.deploy(ref);
    if (servesEmbeddedDefault(config)) {
      if (existsSync(`${EMBEDDED_APP}/build/ocr.wasm`) && existsSync(`${EMBEDDED_APP}/models`)) await apps.install(openAppFolder(EMBEDDED_APP), 'embedded', []);
      else log.warn('the embedded OCR app is not built (npm run build builds it and copies its models in); serving no models');
    }
    await manager.loadEager();
    await llm.start();
  } catch (err) {
    await sandbox.close();
    await Promise.all([manager.shutdown(), llm.shutdown()]);
    await telemetry.shutdown();
    throw err;
  }
  // Fleet (src/fleet, docs/fleet.md): joined over NATS with --fleet, else a fleet of one.
  let fleet: FleetHandle | undefined;
  const server = new ApiServer({
    manager,
    llm,
    sandbox,
    log,
    host: config.host,
    port: config.port,
    maxBodySize: config.maxBodySize,
    version: VERSION,
    telemetry,
    callerHeader: config.callerHeader,
    deployer: apps,
    adminToken: config.adminToken,
    fleet: () => fleet,
  });
  const address = await server.listen();
  try {
    fleet = await openFleet({
      config, url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`, version: VERSION, runtime: apps, trustedKeys, log,
      budget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
      models: () => manager.status().map((m) => ({ name: m.name, device: m.device, memoryBytes: m.memoryBytes })),
      stats: () => telemetry.stats(),
    });
  } catch (err) {
    await server.drain(0);
    await sandbox.close();
    await Promise.all([manager.shutdown(), llm.shutdown()]);
    await telemetry.shutdown();
    throw err;
  }
  log.info('weft node listening', {
    url: `http://${address.address}:${address.port}`,
    models: [...manager.names(), ...llm.names()].join(','),
    apps: sandbox.names().join(','),
  });

  let stopping: Promise<void> | undefined;
  return {
    address,
    manager,
    telemetry,
    llm,
    sandbox,
    apps,
    stop: () =>
      (stopping ??= (async () => {
        // Draining waits on unref'd timers; without a ref'd handle the process could exit in
        // the middle, before models are released and kept traces are flushed.
        const hold = setInterval(() => undefined, 60_000);
        try {
          log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
          await fleet?.leave();
          await server.drain(config.shutdownTimeout);
          await sandbox.close();
          await Promise.all([manager.shutdown(), llm.shutdown()]);
          await telemetry.shutdown();
          log.info('stopped');
        } finally {
          clearInterval(hold);
        }
      })()),
  };
}
