// One node's throughput window by window under a steady load, with `weft serve`'s V8 heap growing
// step (src/cli/heap.ts) and with V8's own (`node --heap-growing-percent=0`, which the node then
// leaves alone), side by side in one run: ppocr-cls over KServe binary at C = 4, closed loop, the
// node's CPU per request and V8's mark-compacts (counted from the node's `--trace-gc` lines) per
// window. With V8's own growing, ~10 s into the load a mark-compact every ~50 ms set in for good on
// a 2-core Intel Xeon (bench/TRANSPORTS.md). Node flags after `--` add a third node started with
// them (say `-- --initial-old-space-size=64`), to try another V8 setting beside both.
//
//   npm run build && node --import tsx bench/steady.ts [--windows 8] [--seconds 3] [-- <node flags>]
// Results: bench/TRANSPORTS.md.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { startWeft } from '../test/kit/weft-process.js';
import { describeMachine } from './machine.js';
import { closedLoop, postCall, type StepResult } from './measure.js';
import { CLS_MODEL_PATH, inputImage } from './model.js';

const VARIANTS: Array<[string, string[]]> = [
  ['weft serve (V8 heap growing 200%)', []],
  ["V8's own heap growing (node --heap-growing-percent=0)", ['--heap-growing-percent=0']],
];
const SHAPE = [1, 3, 48, 192];

interface Window {
  result: StepResult;
  markCompacts: number;
}

async function windows(nodeArgs: string[], count: number, seconds: number): Promise<Window[]> {
  // --trace-gc prints to stdout, which startWeft reads only as a pipe: count its lines as they come.
  const weft = await startWeft(['--load', 'eager', '--model', `ppocr-cls=${CLS_MODEL_PATH}`], {}, { nodeArgs: ['--trace-gc', ...nodeArgs] });
  let markCompacts = 0;
  let partial = '';
  weft.proc.stdout!.on('data', (chunk: Buffer) => {
    // Whole lines only: a chunk may end inside one.
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    markCompacts += lines.filter((line) => line.includes('Mark-Compact')).length;
  });
  const data = inputImage().subarray(0, SHAPE.reduce((a, b) => a * b, 1));
  const request = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: SHAPE, bytes: float32Bytes(data) }]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const call = postCall(new URL('/v2/models/ppocr-cls/infer', weft.url), request.body, request.headers, agent);
  const out: Window[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const before = markCompacts;
      const result = await closedLoop(call, { concurrency: 4, warmupMs: i === 0 ? 2000 : 0, measureMs: seconds * 1000, serverPid: weft.proc.pid! });
      out.push({ result, markCompacts: markCompacts - before });
    }
  } finally {
    agent.destroy();
    await weft.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { windows: { type: 'string', default: '8' }, seconds: { type: 'string', default: '3' } }, allowPositionals: true });
  const count = Number(values.windows);
  const seconds = Number(values.seconds);
  const variants: Array<[string, string[]]> = positionals.length > 0 ? [...VARIANTS, [`node ${positionals.join(' ')}`, positionals]] : VARIANTS;
  const runs: Window[][] = [];
  for (const [, nodeArgs] of variants) runs.push(await windows(nodeArgs, count, seconds));
  const machine = describeMachine();
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
  console.log(`ppocr-cls [1,3,48,192] KServe binary, C = 4, closed loop; ${count} windows of ${seconds} s after 2 s warm-up, one node per column\n`);
  console.log(`| window (s from the load's start) | ${variants.map(([name]) => `${name}: req/s, node CPU µs/req, mark-compacts`).join(' | ')} |`);
  console.log(`| --- | ${variants.map(() => '---').join(' | ')} |`);
  for (let i = 0; i < count; i++) {
    const cells = runs.map((r) => {
      const w = r[i]!;
      return `${w.result.reqPerSec.toFixed(0)}, ${((w.result.serverCpuMsPerReq ?? 0) * 1000).toFixed(0)}, ${w.markCompacts}`;
    });
    console.log(`| ${2 + i * seconds}–${2 + (i + 1) * seconds} | ${cells.join(' | ')} |`);
  }
}

await main();
