// Composition root: builds one Weft node from its config — backends, model manager, LLM service,
// HTTP server — and owns its start and graceful stop.

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ApiServer } from './api/index.js';
import { LlamaBackend, OnnxBackend } from './backends/index.js';
import type { NodeConfig } from './config/index.js';
import { LlmService, ModelManager, resolveModels } from './engine/index.js';
import { createLogger, type Logger } from './telemetry/index.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface WeftNode {
  readonly address: AddressInfo;
  readonly manager: ModelManager;
  readonly llm: LlmService;
  /** Stops accepting, finishes in-flight requests (up to the shutdown timeout), unloads models. */
  stop(): Promise<void>;
}

export async function startNode(config: Readonly<NodeConfig>, log: Logger = createLogger(config.logLevel)): Promise<WeftNode> {
  const definitions = resolveModels(config);
  const manager = new ModelManager(definitions.filter((d) => d.format === 'onnx'), {
    backend: new OnnxBackend({ warn: (message) => log.warn(message) }),
    // Without GPU discovery yet, the cuda budget equals the configured one.
    memoryBudget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
    log,
  });
  const llm = new LlmService(definitions.filter((d) => d.format !== 'onnx'), {
    backend: new LlamaBackend({ warn: (message) => log.warn(message) }),
    log,
    healthIntervalMs: config.upstreamHealthInterval,
    retryMs: config.upstreamRetry,
    // One budget per device for every model: GGUF weights count against it too.
    reserveMemory: (name, device, bytes) => manager.reserveExternal(name, device, bytes),
  });
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
  });
  const address = await server.listen();
  log.info('weft node listening', { url: `http://${address.address}:${address.port}`, models: [...manager.names(), ...llm.names()].join(',') });

  let stopping: Promise<void> | undefined;
  return {
    address,
    manager,
    llm,
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
        await server.drain(config.shutdownTimeout);
        await Promise.all([manager.shutdown(), llm.shutdown()]);
        log.info('stopped');
      })()),
  };
}
