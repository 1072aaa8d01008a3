// Composition root: builds one Weft node from its config — backend, model manager, HTTP server —
// and owns its start and graceful stop.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiServer } from './api/index.js';
import { OnnxBackend } from './backends/index.js';
import { openAppFolder, type AppBundle } from './bundle/index.js';
import type { NodeConfig } from './config/index.js';
import { appModels, ModelManager, resolveModels } from './engine/index.js';
import { Sandbox } from './sandbox/index.js';
import { createLogger, type Logger } from './telemetry/index.js';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The OCR example app, served with the embedded models when no models or apps are configured. */
const EMBEDDED_APP = fileURLToPath(new URL('../examples/ocr/', import.meta.url));

/** The apps the config names; the embedded OCR app when it names neither models nor apps. */
function resolveApps(config: Readonly<NodeConfig>, log: Logger): AppBundle[] {
  if (config.app.length > 0) return config.app.map((dir) => openAppFolder(dir));
  if (config.models !== undefined || config.model.length > 0) return [];
  if (!existsSync(`${EMBEDDED_APP}/build/ocr.wasm`)) {
    log.warn('the embedded OCR app is not built (npm run build builds it); serving its models only');
    return [];
  }
  return [openAppFolder(EMBEDDED_APP)];
}

export interface WeftNode {
  readonly address: AddressInfo;
  readonly manager: ModelManager;
  readonly sandbox: Sandbox;
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
  await manager.loadEager();
  const sandbox = new Sandbox({ manager, log, dataDir: config.dataDir });
  try {
    for (const app of resolveApps(config, log)) {
      manager.add(appModels(app, config));
      if (app.manifest.component) await sandbox.deploy(app);
    }
  } catch (err) {
    await sandbox.close();
    await manager.shutdown();
    throw err;
  }
  const server = new ApiServer({
    manager,
    sandbox,
    log,
    host: config.host,
    port: config.port,
    maxBodySize: config.maxBodySize,
    version: VERSION,
  });
  const address = await server.listen();
  log.info('weft node listening', { url: `http://${address.address}:${address.port}`, models: manager.names().join(','), apps: sandbox.names().join(',') });

  let stopping: Promise<void> | undefined;
  return {
    address,
    manager,
    sandbox,
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down: finishing in-flight requests', { timeoutMs: config.shutdownTimeout });
        await server.drain(config.shutdownTimeout);
        await sandbox.close();
        await manager.shutdown();
        log.info('stopped');
      })()),
  };
}
