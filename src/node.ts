// Composition root: builds one Weft node from its config — backend, model manager, HTTP server —
// and owns its start and graceful stop.

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ApiServer, AppDeployer } from './api/index.js';
import { loadTrustedKeys } from './bundle/index.js';
import { OnnxBackend } from './backends/index.js';
import type { NodeConfig } from './config/index.js';
import { ModelManager, resolveModels } from './engine/index.js';
import { createLogger, type Logger } from './telemetry/index.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface WeftNode {
  readonly address: AddressInfo;
  readonly manager: ModelManager;
  readonly apps: AppDeployer;
  /** Stops accepting, finishes in-flight requests (up to the shutdown timeout), unloads models. */
  stop(): Promise<void>;
}

export async function startNode(config: Readonly<NodeConfig>, log: Logger = createLogger(config.logLevel)): Promise<WeftNode> {
  const manager = new ModelManager(resolveModels(config), {
    backend: new OnnxBackend({ warn: (message) => log.warn(message) }),
    // Without GPU discovery yet, the cuda budget equals the configured one.
    memoryBudget: { cpu: config.memoryBudget, cuda: config.memoryBudget },
    log,
  });
  const apps = new AppDeployer({ manager, config, trustedKeys: loadTrustedKeys(config.trustedKeys), log });
  for (const ref of config.app) await apps.deploy(ref);
  await manager.loadEager();
  const server = new ApiServer({
    manager,
    log,
    host: config.host,
    port: config.port,
    maxBodySize: config.maxBodySize,
    version: VERSION,
    deployer: apps,
    adminToken: config.adminToken,
  });
  const address = await server.listen();
  log.info('weft node listening', { url: `http://${address.address}:${address.port}`, models: manager.names().join(',') });

  let stopping: Promise<void> | undefined;
  return {
    address,
    manager,
    apps,
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
        await server.drain(config.shutdownTimeout);
        await manager.shutdown();
        log.info('stopped');
      })()),
  };
}
