// Does `weft bench` measure what an independent load tool measures? In one session, against a
// Weft node and against the plain fastify server, runs `weft bench` and autocannon with the same
// request body, connections and duration, and compares throughput and p50 (aim: within 10%).
// Writes bench/AGREEMENT.md.
//
//   npm run build && node --import tsx bench/agreement.ts

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './machine.js';
import { CLS_MODEL_PATH } from './model.js';
import { startPlainServer, startWeftServer, type RunningServer } from './servers.js';

const CONNECTIONS = 4;
const SECONDS = 10;
const WARMUP = 2;
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const AUTOCANNON = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules/.bin/autocannon');

/** One classifier input as KServe JSON: [1,3,48,192], seeded. */
function body(): string {
  const n = 3 * 48 * 192;
  let s = 7;
  const data = Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), Math.round(((s >>> 24) / 127.5 - 1) * 1000) / 1000));
  return JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data }] });
}

interface Measured {
  tool: string;
  reqPerS: number;
  p50Ms: number;
  errors: number;
}

function weftBench(url: string, path: string, file: string): Measured {
  const args = [CLI, 'bench', url, '--model', 'ppocr-cls', '--path', path, '--input', file, '--concurrency', String(CONNECTIONS), '--duration', String(SECONDS), '--warmup', String(WARMUP), '--settle', '0', '--json'];
  const report = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
  const step = report.steps[0];
  return { tool: 'weft bench', reqPerS: step.throughput, p50Ms: step.latencyMs.p50, errors: Object.values(step.errors as Record<string, number>).reduce((a, b) => a + b, 0) };
}

function autocannon(url: string, path: string, file: string): Measured {
  const common = ['-m', 'POST', '-H', 'content-type=application/json', '-i', file, '-c', String(CONNECTIONS)];
  execFileSync(AUTOCANNON, [...common, '-d', String(WARMUP), `${url}${path}`], { stdio: 'ignore' });
  const result = JSON.parse(execFileSync(AUTOCANNON, [...common, '-d', String(SECONDS), '-j', `${url}${path}`], { encoding: 'utf8' }));
  return { tool: 'autocannon', reqPerS: result['2xx'] / SECONDS, p50Ms: result.latency.p50, errors: result.non2xx + result.errors };
}

async function measure(label: string, start: () => Promise<RunningServer>, path: string, file: string): Promise<string[]> {
  const server = await start();
  try {
    const ours = weftBench(server.url, path, file);
    const theirs = autocannon(server.url, path, file);
    const diff = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
    return [
      `| ${label} | ${ours.tool} | ${ours.reqPerS.toFixed(1)} | ${ours.p50Ms.toFixed(2)} | ${ours.errors} |`,
      `| ${label} | ${theirs.tool} | ${theirs.reqPerS.toFixed(1)} | ${theirs.p50Ms.toFixed(2)} | ${theirs.errors} |`,
      `| ${label} | difference | ${diff(ours.reqPerS, theirs.reqPerS)} | ${diff(ours.p50Ms, theirs.p50Ms)} | |`,
    ];
  } finally {
    await server.stop();
  }
}

const file = join(mkdtempSync(join(tmpdir(), 'weft-agreement-')), 'body.json');
writeFileSync(file, body());
const rows = [
  ...(await measure('Weft (KServe v2 JSON)', () => startWeftServer(['--model', `ppocr-cls=${CLS_MODEL_PATH}`]), '/v2/models/ppocr-cls/infer', file)),
  ...(await measure('plain fastify server', () => startPlainServer(CLS_MODEL_PATH), '/infer', file)),
];
const m = describeMachine();
const text = `# weft bench against an independent load tool

Written by \`bench/agreement.ts\` on ${new Date().toISOString()}:
\`npm run build && node --import tsx bench/agreement.ts\`.
Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}; shared with other jobs.

Both tools send the same body (PaddleOCR's direction classifier \`ppocr-cls\`, one FP32
[1,3,48,192] input as KServe JSON) over ${CONNECTIONS} keep-alive connections in a closed loop for
${SECONDS} s after a ${WARMUP} s warm-up, one tool after the other against the same server process.
autocannon's p50 is its own (millisecond-resolution) histogram; weft bench's is nearest-rank over
every sample. Aim: within 10% on throughput and p50.

| server | tool | req/s | p50 ms | errors |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(new URL('./AGREEMENT.md', import.meta.url), text);
process.stdout.write(text);
