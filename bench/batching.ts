// Does the adaptive batcher choose well? PaddleOCR's ppocr-cls and ppocr-rec (the embedded
// default's models, served alone with --model) over KServe binary, closed loop, on the same
// machine in one run: the default batcher (max_batch_size 8), `--adaptive-batching` (learns from real batches which sizes serve rows
// fastest here), and `--max-batch-size 1` (no batching). The adaptive node's repository index
// says what it chose, and why.
//
//   npm run build && node --import tsx bench/batching.ts [--seconds 15]
// Results: bench/BATCHING.md.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { startWeft } from '../test/kit/weft-process.js';
import { describeMachine } from './machine.js';
import { closedLoop, postCall } from './measure.js';
import { CLS_MODEL_PATH, INPUT_SHAPE, MODEL_PATH, inputImage } from './model.js';

const MODELS = [
  { name: 'ppocr-cls', file: CLS_MODEL_PATH, shape: [1, 3, 48, 192], concurrency: 4 },
  { name: 'ppocr-rec', file: MODEL_PATH, shape: INPUT_SHAPE, concurrency: 16 },
];
const NODES = [['default batcher', []], ['--adaptive-batching', ['--adaptive-batching']], ['--max-batch-size 1', ['--max-batch-size', '1']]] as const;

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' } } });
const measureMs = Number(values.seconds) * 1000;
const machine = describeMachine();
console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
console.log(`KServe binary, closed loop, ${values.seconds} s per step after 5 s warm-up\n`);
console.log('| model | C | node | req/s | p50 ms | p99 ms | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const chosen: string[] = [];
for (const [label, flags] of NODES) {
  const weft = await startWeft([...MODELS.flatMap((m) => ['--model', `${m.name}=${m.file}`]), ...flags]);
  try {
    for (const m of MODELS) {
      const elements = m.shape.reduce((a, b) => a * b, 1);
      const request = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: m.shape, bytes: float32Bytes(inputImage().subarray(0, elements)) }]);
      const agent = new http.Agent({ keepAlive: true, maxSockets: m.concurrency });
      const call = postCall(new URL(`/v2/models/${m.name}/infer`, weft.url), request.body, request.headers, agent);
      const r = await closedLoop(call, { concurrency: m.concurrency, warmupMs: 5000, measureMs, serverPid: weft.proc.pid! });
      agent.destroy();
      console.log(`| ${m.name} | ${m.concurrency} | ${label} | ${r.reqPerSec.toFixed(1)} | ${r.p50Ms?.toFixed(1) ?? '–'} | ${r.p99Ms?.toFixed(1) ?? '–'} | ${r.errors} |`);
    }
    if (flags.length > 0 && flags[0] === '--adaptive-batching') {
      const index = (await (await fetch(`${weft.url}/v2/repository/index`, { method: 'POST' })).json()) as Array<{ name: string; reason: string }>;
      for (const m of MODELS) chosen.push(`${m.name}: ${index.find((e) => e.name === m.name)?.reason ?? '?'}`);
    }
  } finally {
    await weft.stop();
  }
}
console.log(`\nThe adaptive node's repository index after its runs:\n${chosen.map((c) => `- ${c}`).join('\n')}`);
