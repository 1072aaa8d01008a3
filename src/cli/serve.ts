// `weft serve`: starts a node from flags, WEFT_* variables and an optional config file, and
// stops it gracefully on SIGTERM or SIGINT — or when the npm process that started it exits,
// since npm (`npx weft serve`, `npm start`) does not pass SIGTERM on to its child.
// With --watch, app folders are built first and rebuilt and redeployed when they change.

import { join } from 'node:path';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { startNode } from '../node.js';
import { removeStaleTemps } from '../store/index.js';
import { createLogger, type Logger } from '../telemetry/index.js';
import { parseFlags } from './flags.js';
import { collectLingeringBuffers, tuneHeapGrowth } from './heap.js';
import { checkPortFree, isAddressInUse, portInUse } from './port.js';
import { buildIfSource, isAppFolder, watchApps } from './watch.js';

/** How often a node started by npm checks that npm is still there. */
const PARENT_POLL_MS = 500;

/**
 * Calls `onOrphaned` once the parent process is gone (this process re-parented), polling
 * process.ppid. Only for a node that npm started: anyone else who exits and leaves the node
 * running (`nohup weft serve &`) means it to keep running.
 */
function watchParent(onOrphaned: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, PARENT_POLL_MS);
  timer.unref();
}

async function sweepTemps(config: Readonly<NodeConfig>, log: Logger): Promise<void> {
  const swept = await removeStaleTemps(join(config.dataDir, 'store', 'tmp'), { dedicated: true });
  if (swept.removedFiles > 0) log.info('removed temp files of killed packs and pulls', { files: swept.removedFiles, bytes: swept.removedBytes });
}

export async function serveCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { flags, file } = parseFlags(args);
  const config = loadConfig({ flags, env, file });
  tuneHeapGrowth();
  collectLingeringBuffers();
  const log = createLogger(config.logLevel);
  // Before any app is deployed or model loaded: a busy port should cost the user no waiting.
  await checkPortFree(config.host, config.port);
  await checkPortFree(config.host, config.grpcPort, 'grpc-port');
  await sweepTemps(config, log);
  if (config.watch) for (const ref of config.app.filter(isAppFolder)) await buildIfSource(ref, log);
  let node;
  try {
    node = await startNode(config, log);
  } catch (err) {
    // Another process may take the port between the check and the listen.
    if (isAddressInUse(err)) throw portInUse(config.host, config.port, err);
    throw err;
  }
  const unwatch = config.watch ? watchApps(config.app, node, log) : () => undefined;
  let stopping = false;
  const stop = (reason: Record<string, string>) => {
    stopping = true;
    log.info('shutting down', reason);
    unwatch();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  // \`on\`, not \`once\`: signal-exit (node-llama-cpp loads it) re-raises a signal that has no other
  // listener left, which killed a node with a language model mid-drain. A second signal while
  // draining stops at once, as Ctrl-C twice does elsewhere.
  const onSignal = (signal: string) => {
    if (!stopping) return stop({ signal });
    log.warn('second signal while draining: exiting now', { signal });
    process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (env.npm_command !== undefined) watchParent(() => stop({ reason: 'the npm process that started this node exited (npm does not pass on SIGTERM)' }));
}

