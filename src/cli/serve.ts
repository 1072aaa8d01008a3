// `weft serve`: starts a node from flags, WEFT_* variables and an optional config file, and
// stops it gracefully on SIGTERM or SIGINT — or when the npm process that started it exits,
// since npm (`npx weft serve`, `npm start`) does not pass SIGTERM on to its child.
// With --watch, app folders are built first and rebuilt and redeployed when they change.

import { join } from 'node:path';
import v8 from 'node:v8';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { startNode } from '../node.js';
import { removeStaleTemps } from '../store/index.js';
import { createLogger, type Logger } from '../telemetry/index.js';
import { parseFlags } from './flags.js';
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

/**
 * V8's heap growing factor for a serving node. A node serving tensors allocates array buffers
 * fast (request bodies, batch inputs, the copies its model workers get: ~100 MB/s at 800
 * ppocr-cls requests/s). With V8's own factor, once a mark-compact has left only the live heap
 * (~25 MB), the next limit sat just above it and that allocation rate set off a mark-compact
 * every ~50 ms (`node --trace-gc`: "external memory pressure"), for good: about 10 s into a
 * steady load, V8's GC threads took half a core from the model and the node served a third
 * fewer requests (Intel Xeon, 2 cores: 533-616 instead of 856-924 ppocr-cls requests/s, RSS ~20
 * MiB less; `node --import tsx bench/steady.ts` runs both). Growing the limit by 200% of the live
 * heap keeps it ahead. A --heap-growing-percent given to node itself wins.
 */
const HEAP_GROWING_PERCENT = 200;

function tuneHeapGrowth(): void {
  if (process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent') || arg.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

async function sweepTemps(config: Readonly<NodeConfig>, log: Logger): Promise<void> {
  const swept = await removeStaleTemps(join(config.dataDir, 'store', 'tmp'), { dedicated: true });
  if (swept.removedFiles > 0) log.info('removed temp files of killed packs and pulls', { files: swept.removedFiles, bytes: swept.removedBytes });
}

export async function serveCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { flags, file } = parseFlags(args);
  const config = loadConfig({ flags, env, file });
  tuneHeapGrowth();
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

