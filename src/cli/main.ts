#!/usr/bin/env node
// The `weft` command: dispatches to a subcommand, answers `--help` for every one, and turns
// errors into one clear line and a non-zero exit code.

import { WeftError } from '../errors.js';
import { VERSION } from '../node.js';
import { apikeyCommand } from './apikey.js';
import { benchCommand } from './bench.js';
import { buildCommand } from './build.js';
import { gcCommand, inspectCommand, packCommand, pullCommand, pushCommand } from './bundle-commands.js';
import { configCommand } from './config-command.js';
import { deployCommand, nodesCommand, statusCommand, undeployCommand } from './fleet-commands.js';
import { helpText, usage } from './help.js';
import { serveCommand } from './serve.js';
import { newCommand } from './new.js';
import { keyCommand, signCommand, verifyCommand } from './sign-commands.js';
import { lsCommand, rmCommand } from './store-commands.js';
import { topCommand } from './top.js';

const commands: Record<string, (args: string[]) => Promise<void> | void> = {
  serve: serveCommand,
  new: newCommand,
  build: buildCommand,
  config: configCommand,
  top: topCommand,
  bench: benchCommand,
  pack: packCommand,
  inspect: inspectCommand,
  push: pushCommand,
  pull: pullCommand,
  ls: lsCommand,
  rm: rmCommand,
  gc: gcCommand,
  key: keyCommand,
  apikey: apikeyCommand,
  sign: signCommand,
  verify: verifyCommand,
  deploy: deployCommand,
  undeploy: undeployCommand,
  status: statusCommand,
  nodes: nodesCommand,
  version: () => void process.stdout.write(`${VERSION}\n`),
};

/** `--help` or `-h` anywhere before a `--` asks for the command's help rather than running it. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write((command === 'help' && args[0] !== undefined ? helpText(args[0]) : undefined) ?? usage(VERSION));
    return;
  }
  if (command === '--version') return void process.stdout.write(`${VERSION}\n`);
  const run = commands[command];
  if (run === undefined) {
    process.stderr.write(`weft: unknown command '${command}'\n\n${usage(VERSION)}`);
    process.exitCode = 2;
    return;
  }
  if (wantsHelp(args)) {
    process.stdout.write(helpText(command) ?? usage(VERSION));
    return;
  }
  await run(args);
}

// Output piped into a reader that stopped (`weft status | head -2`) is the reader's choice, not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof WeftError ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`weft: ${message}\n`);
  process.exit(1);
});
