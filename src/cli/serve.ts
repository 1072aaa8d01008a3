// `weft serve`: starts a node from flags, WEFT_* variables and an optional config file, and
// stops it gracefully on SIGTERM or SIGINT. With --watch, app folders are built first and
// rebuilt and redeployed when they change.

import { loadConfig } from '../config/index.js';
import { startNode } from '../node.js';
import { createLogger } from '../telemetry/index.js';
import { parseFlags } from './flags.js';
import { buildIfSource, isAppFolder, watchApps } from './watch.js';

export async function serveCommand(args: string[]): Promise<void> {
  const { flags, file } = parseFlags(args);
  const config = loadConfig({ flags, env: process.env, file });
  const log = createLogger(config.logLevel);
  if (config.watch) for (const ref of config.app.filter(isAppFolder)) await buildIfSource(ref, log);
  const node = await startNode(config, log);
  const unwatch = config.watch ? watchApps(config.app, node, log) : () => undefined;
  const onSignal = (signal: string) => {
    log.info('signal received', { signal });
    unwatch();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
