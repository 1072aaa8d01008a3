// `weft --help` and `weft COMMAND --help`: one entry per command (usage, what it does, its own
// flags). The node settings a command reads are listed from the settings registry, so the help
// text cannot drift from the flags the parser accepts.

import { settings, type Setting, type SettingKey } from '../config/index.js';

export interface CommandHelp {
  /** One line for `weft --help`. */
  summary: string;
  /** Usage lines, without the leading `weft `. */
  usage: string[];
  /** A paragraph on what the command does. */
  about: string;
  /** The command's own flags as [flag, description]. */
  options?: Array<[string, string]>;
  /** Node settings the command reads, as registry keys; 'all' for every setting. */
  settings?: 'all' | readonly SettingKey[];
}

const STORE: readonly SettingKey[] = ['dataDir'];
const REGISTRY: readonly SettingKey[] = ['dataDir', 'registryUsername', 'registryPassword', 'registryHost', 'registryTokenHosts', 'dockerConfig', 'insecureRegistries', 'uploadChunkSize', 'registryTimeout', 'registryIdleTimeout'];

export const commandHelp: Record<string, CommandHelp> = {
  serve: {
    summary: 'start a node: serve models and apps over HTTP',
    usage: ['serve [--port 8080] [--host 127.0.0.1] [--models DIR] [--model NAME=PATH ...] [--app REF ...] [--upstream NAME=URL ...] [--config FILE]'],
    about:
      'Serves models over KServe v2 (/v2/...) and the OpenAI API (/v1/...), and apps (/apps/...). A model PATH ending in .gguf is a language model. ' +
      'With no --models, --model, --upstream or --app it serves the embedded PaddleOCR models and OCR app. SIGTERM or SIGINT drains in-flight requests, then exits. ' +
      'Every flag also has a WEFT_* variable and a camelCase key in the --config JSON file (the setting key below).',
    options: [['--config FILE', 'JSON file of settings by key (e.g. {"port": 9000, "dataDir": "/srv/weft"})']],
    settings: 'all',
  },
  new: {
    summary: 'write a new app folder from a template',
    usage: ['new NAME [--template assemblyscript|javascript|models-only] [--dir DIR]'],
    about: 'Writes weft.json, the component source, a README and a test request into DIR (default ./NAME). Templates: assemblyscript (a component calling the tiny ONNX classifier it ships; the default), javascript (componentize-js glue asking a language model you supply), models-only (a model bundle served over KServe v2). Then: cd DIR && weft build && weft serve --app . --allow-unsigned',
    options: [['--template T', 'assemblyscript (default), javascript or models-only'], ['--dir DIR', 'where to write the app (default ./NAME)']],
  },
  build: {
    summary: "build an app's component (AssemblyScript or JavaScript)",
    usage: ['build [DIR] [--entry FILE] [--json]'],
    about: "Builds the component of the app in DIR (default .) to weft.json's component.file — assembly/index.ts with AssemblyScript (the SDK imported as 'weft/sdk/assemblyscript'), or src/app.js with componentize-js — then checks its imports against the weft:app world and the manifest's grants, and reports its size and imports.",
    options: [['--entry FILE', 'the source to build (default assembly/index.ts or src/app.js)'], ['--json', 'the report as JSON']],
  },
  config: {
    summary: 'print every setting: flag, variable, default and resolved value',
    usage: ['config [flags]'],
    about: 'Prints every node setting with its flag, WEFT_* variable, default and the value `weft serve` would use given the same flags, variables and --config file.',
    options: [['--config FILE', 'JSON file of settings by key']],
    settings: 'all',
  },
  pack: {
    summary: 'pack an app folder into an OCI layout (-o) or the store',
    usage: ['pack DIR [-o OUT] [--tag T]'],
    about: 'Packs an app folder (weft.json, its component and files) into an OCI image layout folder, or into the node\'s store tagged NAME:VERSION (or --tag).',
    options: [
      ['-o, --output OUT', 'write an OCI image layout folder instead of the store'],
      ['--tag T', 'tag to give the bundle (default NAME:VERSION from weft.json)'],
    ],
    settings: STORE,
  },
  inspect: {
    summary: 'layers, sizes, digests and signatures of a bundle',
    usage: ['inspect REF [--json]'],
    about: 'Shows a packed bundle: its manifest digest, app, layers and signatures. A registry reference that cannot be reached is read from the copy pulled into the store (the output says so).',
    options: [['--json', 'print the manifest and signatures as JSON']],
    settings: REGISTRY,
  },
  push: {
    summary: 'push a store tag (or --from SRC) to a registry',
    usage: ['push REF [--from SRC]'],
    about: 'Pushes a bundle and its signatures to a registry reference host[:port]/repo:tag. The source is the store tag REF, or --from: an OCI layout, a store tag or another registry reference.',
    options: [['--from SRC', 'read the bundle from an OCI layout, store tag or registry reference']],
    settings: REGISTRY,
  },
  pull: {
    summary: 'pull host[:port]/repo:tag into the store',
    usage: ['pull REF'],
    about: 'Copies a bundle and its signatures from a registry into the store, tagged as REF. Blobs already in the store are re-hashed, and any that no longer match their digest are fetched again, so pulling again repairs a damaged copy.',
    settings: REGISTRY,
  },
  ls: {
    summary: 'list the store: tags, digests, sizes',
    usage: ['ls [--json]'],
    about: 'Lists every tag in the store with its manifest digest, the bundle\'s total size and its signature count.',
    options: [['--json', 'print the list as JSON']],
    settings: STORE,
  },
  rm: {
    summary: 'untag a bundle in the store (weft gc then frees its blobs)',
    usage: ['rm REF [REF ...]'],
    about: 'Removes tags from the store. Blobs no tag reaches any more stay until `weft gc` removes them.',
    settings: STORE,
  },
  gc: {
    summary: 'remove store blobs no tag references, and stale temp files',
    usage: ['gc'],
    about: 'Removes every blob no tag reaches, and temp files left by a pack or pull that was killed (files no live process is writing).',
    settings: STORE,
  },
  key: {
    summary: 'generate a signing key pair',
    usage: ['key generate [--algorithm ed25519|ecdsa-p256] [-o NAME]'],
    about: 'Writes NAME.key (private, mode 0600) and NAME.pub (public: give it to nodes as --trusted-keys). Never overwrites a file.',
    options: [
      ['--algorithm A', 'ed25519 (default) or ecdsa-p256'],
      ['-o, --output NAME', 'file name stem (default weft-signing)'],
    ],
  },
  apikey: {
    summary: 'create, list and revoke API keys (tenant, scopes, expiry, limits)',
    usage: ['apikey create --tenant T --scope S [--scope S ...] [--expires 30d|ISO-TIME] [--rate N] [--concurrency N] [--tokens-per-minute N] [--monthly-tokens N] [--monthly-joules J]', 'apikey list', 'apikey revoke ID', '(each with --url NODE --token ADMIN-KEY to go through a running node)'],
    about: 'Scopes: infer:NAME (a model or app; wildcards such as infer:ppocr-* or infer:*), metrics (/metrics) and admin (everything). Without --url the key is written to the data dir, hashed with the node secret; a running node on it sees the change within a second. With --url on a node joined to a fleet, the key goes to the fleet\'s key bucket and works on every node; a revocation reaches them all. The new key is printed once, on the last line. Once any key exists, every API asks for one. See docs/security.md.',
    options: [
      ['--tenant T', 'who the key belongs to: limits and fair queueing are per tenant'],
      ['--scope S', 'infer:NAME, metrics or admin (repeatable)'],
      ['--expires E', 'a duration from now (30d, 12h) or an ISO time'],
      ['--rate N', 'requests per second for the tenant (else --tenant-rate)'],
      ['--concurrency N', 'requests in flight for the tenant (else --tenant-concurrency)'],
      ['--tokens-per-minute N', 'language-model tokens (prompt and completion) per minute for the tenant (else --tenant-tokens-per-minute)'],
      ['--monthly-tokens N', 'language-model tokens per calendar month (UTC) for the tenant (else --tenant-monthly-tokens)'],
      ['--monthly-joules J', 'joules per calendar month (UTC) the tenant\'s requests may be attributed (else --tenant-monthly-joules)'],
      ['--url NODE', 'go through this running node\'s admin API instead of the data dir'],
      ['--token K', 'a key with the admin scope, for --url (default $WEFT_ADMIN_TOKEN)'],
    ],
    settings: STORE,
  },
  sign: {
    summary: 'attach a signature to a bundle (layout, store tag or registry)',
    usage: ['sign REF --key PRIVATE.pem'],
    about: 'Signs a bundle\'s manifest digest and attaches the signature as an OCI referrer where the bundle lives.',
    options: [['--key PRIVATE.pem', 'private key from `weft key generate`']],
    settings: REGISTRY,
  },
  verify: {
    summary: 'check a bundle\'s signature and digests',
    usage: ['verify REF [--key PUBLIC.pem] [--local]'],
    about:
      'Checks that a signature by the key verifies and that blobs match their digests. For a registry reference the registry copy is checked; ' +
      'with --local (or when the registry cannot be reached) the copy pulled into the store is checked instead, every blob re-hashed. The output names the copy checked.',
    options: [
      ['--key PUBLIC.pem', 'public key to check against (default: --trusted-keys)'],
      ['--local', 'check the store\'s copy of a registry reference'],
    ],
    settings: [...REGISTRY, 'trustedKeys'],
  },
  bench: {
    summary: 'load-test a KServe v2, OpenAI-compatible or app endpoint',
    usage: [
      'bench [TARGET] --model M [--protocol kserve-v2|kserve-grpc|openai|app] [--concurrency 1,4,16 | --rate R]',
      '      [--duration S | --requests N] [--input FILE | --shape NAME:DT:DIMS] [--stream] [--json] [--plot F]',
    ],
    about:
      'Reports throughput, latency percentiles, errors by kind, token timings for LLMs and, against a Weft node, the server\'s queue and server time, batch sizes and joules per request. ' +
      'A KServe model with dynamic dimensions needs --shape (or --input): bench refuses to guess their sizes.',
    options: [
      ['TARGET', 'base URL (default http://127.0.0.1:8080)'],
      ['--model M', 'model name (kserve-v2, openai) or app name (app)'],
      ['--protocol P', 'kserve-v2 (default) | kserve-grpc (ModelInfer with raw tensors) | openai | app'],
      ['--grpc HOST:PORT', 'kserve-grpc: the gRPC service (default: TARGET\'s host, port 8081); TARGET is still read for /metrics'],
      ['--concurrency 1,4,16', 'closed loop: clients per step (default 1,4,16)'],
      ['--rate R[,R2…]', 'open loop instead: Poisson arrivals per second per step'],
      ['--duration S', 'measured seconds per step (default 10)'],
      ['--requests N', 'measure N requests per step instead of a duration'],
      ['--warmup S', 'unmeasured seconds before each step (default 2)'],
      ['--input FILE', 'request body: KServe infer JSON, OpenAI request JSON or prompt text, app body'],
      ['--shape NAME:DT:DIMS', 'KServe input with random data, e.g. x:FP32:1x3x48x320 (repeatable); default: the model\'s inputs, which must then have fixed dimensions'],
      ['--binary', 'KServe: binary tensor data extension'],
      ['--path P', 'request path instead of the protocol\'s (e.g. a plain server\'s /infer)'],
      ['--stream', 'OpenAI: stream tokens (time to first token, inter-token latency)'],
      ['--max-tokens N', 'OpenAI: max_tokens (default 64)'],
      ['--timeout S', 'per-request timeout (default 60)'],
      ['--max-inflight N', 'open loop: most requests in flight (default 1024)'],
      ['--server-pid PID', 'a server process on this machine whose CPU time per request is reported'],
      ['--settle S', 'wait before reading the server\'s /metrics (default 1.2: a Weft node attributes energy every --energy-interval, 1s)'],
      ['--json', 'print the report as JSON'],
      ['--plot FILE', 'write latency vs throughput as .svg or .png'],
    ],
  },
  top: {
    summary: 'live per-model rate, latency, queue, power, joules',
    usage: ['top [--url http://127.0.0.1:8080] [--once] [--token T]'],
    about: 'A live terminal view of a node\'s /admin/stats. --once (or a stdout that is not a terminal) prints one plain frame.',
    options: [
      ['--url URL', 'the node (default http://127.0.0.1:8080)'],
      ['--once', 'print one frame and exit'],
      ['--interval S', 'seconds between frames (default 1)'],
      ['--token T', 'the node\'s admin token, if it has one'],
    ],
  },
  deploy: {
    summary: 'place an app on the fleet: replicas, constraints, spread',
    usage: ['deploy REF [--replicas N | --min A --max B] [--require gpu] [--select k=v ...] [--spread site] [--prefer-site S] [--url NODE] [--token T]'],
    about: "Writes the app's desired state to the fleet through any node's admin API (/admin/fleet/apps); the fleet's scheduler places its replicas and each node pulls, verifies and serves its own. A node started without --fleet is a fleet of one: it loads the app itself before answering (one replica; more stay pending). See docs/fleet.md.",
  },
  undeploy: {
    summary: 'remove an app from the fleet',
    usage: ['undeploy NAME [--url NODE] [--token T]'],
    about: 'Removes the app from the desired state; every node holding a replica unloads it after its in-flight requests finish.',
  },
  status: {
    summary: "the fleet's apps: replicas, where, state, why a replica is pending",
    usage: ['status [NAME] [--json] [--url NODE] [--token T]'],
    about: "Lists the fleet's apps with their replicas, the nodes they run on and their state; a replica that is not placed says why (the scheduler's reason).",
  },
  nodes: {
    summary: "the fleet's nodes: site, labels, memory, GPUs, power, load",
    usage: ['nodes [--json] [--url NODE] [--token T]'],
    about: "The inventory every node publishes, and which node holds the scheduler's lease; `idle` marks nodes the pack power policy left without work, with the watts that saves.",
  },
  version: { summary: 'print the version', usage: ['version'], about: 'Prints the version of weft.' },
};

function placeholder(s: Setting): string {
  switch (s.kind) {
    case 'boolean':
      return '';
    case 'integer':
    case 'number':
      return ' N';
    case 'bytes':
      return ' SIZE';
    case 'duration':
      return ' DURATION';
    case 'choice':
      return ` ${s.choices!.join('|')}`;
    default:
      return ' VALUE';
  }
}

function wrap(text: string, indent: number, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function optionLines(rows: Array<[string, string]>): string[] {
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${flag.length >= width ? `\n  ${' '.repeat(width)}` : ''}${wrap(text, width + 2)}`);
}

/** The settings section: flag, what it means, default, variable and config-file key, from the registry. */
export function settingsHelp(keys: 'all' | readonly SettingKey[]): string[] {
  const chosen: readonly Setting[] = keys === 'all' ? settings : settings.filter((s) => keys.includes(s.key));
  return optionLines(
    chosen.map((s) => [
      `--${s.flag}${placeholder(s)}`,
      `${s.description}${s.kind === 'list' && !s.description.includes('repeat') ? ' (repeatable)' : ''}. Default: ${s.default ?? 'none'}; ${s.env}; file key "${s.key}"`,
    ]),
  );
}

/** A command's help; undefined for a command that does not exist. */
export function helpText(command: string): string | undefined {
  const h = commandHelp[command];
  if (h === undefined) return undefined;
  const parts = [`Usage:\n${h.usage.map((u) => `  weft ${u}`).join('\n')}`, wrap(h.about, 0)];
  if (h.options) parts.push(`Options:\n${optionLines(h.options).join('\n')}`);
  if (h.settings) parts.push(`Node settings${h.settings === 'all' ? '' : ' it reads (all of them: `weft serve --help`)'}:\n${settingsHelp(h.settings).join('\n')}`);
  parts.push('  -h, --help            print this help');
  return `${parts.join('\n\n')}\n`;
}

export function usage(version: string): string {
  const names = Object.keys(commandHelp);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return `weft ${version} — an inference fabric

Usage: weft COMMAND [flags]    (weft COMMAND --help for its flags)

${names.map((n) => `  ${n.padEnd(width)}${commandHelp[n]!.summary}`).join('\n')}

REF is an app folder, an OCI layout folder, a store tag (name:tag) or a registry reference
(host[:port]/repo:tag). Every node setting has a flag, a WEFT_* variable and a config-file key:
see \`weft serve --help\` or \`weft config\`.
`;
}
