#!/usr/bin/env node
// The `weft` command: dispatches to a subcommand and turns errors into one clear line and a
// non-zero exit code.

import { WeftError } from '../errors.js';
import { VERSION } from '../node.js';
import { benchCommand } from './bench.js';
import { buildCommand } from './build.js';
import { gcCommand, inspectCommand, packCommand, pullCommand, pushCommand } from './bundle-commands.js';
import { configCommand } from './config-command.js';
import { serveCommand } from './serve.js';
import { newCommand } from './new.js';
import { keyCommand, signCommand, verifyCommand } from './sign-commands.js';
import { topCommand } from './top.js';

const USAGE = `weft ${VERSION} — an inference fabric

Usage:
  weft serve [--port 8080] [--host 127.0.0.1] [--models DIR] [--model NAME=PATH ...] [--app REF ...]
             [--upstream NAME=URL ...] [--config FILE] [--watch]
  weft new NAME [--template assemblyscript|javascript|models-only]   write an app folder
  weft build [DIR]                   build an app's component (AssemblyScript or JavaScript)
  weft pack DIR [-o OUT] [--tag T]   pack an app folder into an OCI layout (-o) or the store
  weft inspect REF [--json]          layers, sizes, digests and signatures of a bundle
  weft push REF [--from SRC]         push a store tag (or SRC: layout, tag, registry ref) to a registry
  weft pull REF                      pull host[:port]/repo:tag into the store
  weft key generate [--algorithm ed25519|ecdsa-p256] [-o NAME]
  weft sign REF --key PRIVATE.pem    attach a signature to a bundle (layout, store tag or registry)
  weft verify REF --key PUBLIC.pem   check a bundle's signature and digests
  weft gc                            remove store blobs no tag references
  weft config [flags]     print every setting, its flag, variable, default and value
  weft bench [TARGET] --model M [--protocol kserve-v2|openai|app] [--concurrency 1,4,16 | --rate R]
             [--duration S | --requests N] [--input FILE | --shape N:DT:DIMS] [--stream] [--json] [--plot F]
  weft top [--url http://127.0.0.1:8080] [--once] [--token T]   live per-model rate, latency, queue, power, joules
  weft version

REF is an app folder, an OCI layout folder, a store tag (name:tag) or a registry reference
(host[:port]/repo:tag). A model PATH ending in .gguf is a language model, served through the
OpenAI API (/v1/...); an --upstream is a model served by an OpenAI-compatible server. With no
--models, --model, --upstream or --app, \`weft serve\` serves the embedded PaddleOCR models
(ppocr-det, ppocr-rec, ppocr-cls). Every flag also has a WEFT_* variable: see \`weft config\`.
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(args);
    case 'new':
      return newCommand(args);
    case 'build':
      return buildCommand(args);
    case 'config':
      return configCommand(args);
    case 'top':
      return topCommand(args);
    case 'bench':
      return benchCommand(args);
    case 'pack':
      return packCommand(args);
    case 'inspect':
      return inspectCommand(args);
    case 'push':
      return pushCommand(args);
    case 'pull':
      return pullCommand(args);
    case 'key':
      return keyCommand(args);
    case 'sign':
      return signCommand(args);
    case 'verify':
      return verifyCommand(args);
    case 'gc':
      return gcCommand(args);
    case 'version':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`weft: unknown command '${command}'\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof WeftError ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`weft: ${message}\n`);
  process.exit(1);
});
