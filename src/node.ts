// Composition root: builds one Weft node from its config — backends, model manager, LLM service,
// HTTP server — and owns its start and graceful stop.

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ApiServer, AppDeployer } from './api/index.js';
import { loadTrustedKeys } from './bundle/index.js';
import { LlamaBackend, OnnxBackend } from './backends/index.js';
import type { NodeConfig } from './config/index.js';
import { LlmService, ModelManager, resolveModels } from './engine/index.js';
import { createLogger, Telemetry, type Logger } from './telemetry/index.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface WeftNode {
  readonly address: AddressInfo;
  readonly manager: ModelManager;
  readonly telemetry: Telemetry;
  readonly apps: AppDeployer;
  readonly llm: LlmService;
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
  telemetry.watchModels(() => manager.status());
  const llm = new LlmService(definitions.filter((d) => d.format !== 'onnx'), {
    backend: new LlamaBackend({ warn: (message) => log.warn(message) }),
    log,
    healthIntervalMs: config.upstreamHealthInterval,
    retryMs: config.upstreamRetry,
    // One budget per device for every model: GGUF weights count against it too.
    reserveMemory: (name, device, bytes) => manager.reserveExternal(name, device, bytes),
  });
  const apps = new AppDeployer({ manager, config, trustedKeys: loadTrustedKeys(config.trustedKeys), log });
  for (const ref of config.app) await apps.deploy(ref);
  await manager.loadEager();
  await llm.start();
  const server = new ApiServer({
    manager,
    llm,
    log,
    host: config.host,
    port: config.port,
    maxBodySize: config.maxBodySize,
    version: VERSION,
    telemetry,
    callerHeader: config.callerHeader,
    deployer: apps,
    adminToken: config.adminToken,
  });
  const address = await server.listen();
  log.info('weft node listening', { url: `http://${address.address}:${address.port}`, models: [...manager.names(), ...llm.names()].join(',') });

  let stopping: Promise<void> | undefined;
  return {
    address,
    manager,
    telemetry,
    llm,
    apps,
    stop: () =>
      (stopping ??= (async () => {
        // Draining waits on unref'd timers; without a ref'd handle the process could exit in
        // the middle, before models are released and kept traces are flushed.
        const hold = setInterval(() => undefined, 60_000);
        try {
          log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
          await server.drain(config.shutdownTimeout);
          await Promise.all([manager.shutdown(), llm.shutdown()]);
          await telemetry.shutdown();
          log.info('stopped');
        } finally {
          clearInterval(hold);
        }
      })()),
  };
}
