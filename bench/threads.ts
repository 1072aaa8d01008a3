// In-process onnxruntime-node runs/s of ppocr-cls and ppocr-rec per intra-op thread setting,
// side by side in one run: the runtime's default (a thread per core, idle threads spinning),
// the default without spinning (what Weft sets), one thread, one thread without spinning. The
// figures behind src/backends/onnx/thread-probe.ts. C concurrent `session.run` loops.
//
//   node --import tsx bench/threads.ts [--seconds 4] [--rounds 2] [--concurrency 4]
// Results: bench/TRANSPORTS.md ("What choosing the thread count on real traffic bought").

import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { describeMachine } from './machine.js';
import { CLS_MODEL_PATH, MODEL_PATH } from './model.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, rounds: { type: 'string', default: '2' }, concurrency: { type: 'string', default: '4' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const NO_SPIN = { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
const SETTINGS: Array<[string, ort.InferenceSession.SessionOptions]> = [
  ['default (spinning)', {}],
  ['default, no spinning', NO_SPIN],
  ['1 thread (spinning)', { intraOpNumThreads: 1 }],
  ['1 thread, no spinning', { intraOpNumThreads: 1, ...NO_SPIN }],
];

async function runsPerSecond(path: string, shape: number[], options: ort.InferenceSession.SessionOptions): Promise<number> {
  const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'all', executionProviders: ['cpu'], ...options });
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => (i % 255) / 255 - 0.5);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) };
  for (let i = 0; i < 10; i++) await session.run(feeds);
  let runs = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await session.run(feeds);
      runs++;
    }
  }));
  const rate = runs / ((performance.now() - started) / 1000);
  await session.release();
  return rate;
}

const m = describeMachine();
console.log(`Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, ${m.kernel}; Node ${m.node}; C = ${concurrency}, ${seconds} s per step\n`);
console.log('| model | setting | ' + Array.from({ length: Number(values.rounds) }, (_, i) => `round ${i + 1} runs/s`).join(' | ') + ' |');
console.log('| --- | --- | ' + Array.from({ length: Number(values.rounds) }, () => '---').join(' | ') + ' |');
for (const [name, path, shape] of [['ppocr-cls', CLS_MODEL_PATH, [1, 3, 48, 192]], ['ppocr-rec', MODEL_PATH, [1, 3, 48, 320]]] as const) {
  const rows = new Map<string, number[]>(SETTINGS.map(([s]) => [s, []]));
  // Rounds alternate the settings, so a noisy moment does not fall on one of them alone.
  for (let round = 0; round < Number(values.rounds); round++) for (const [s, options] of SETTINGS) rows.get(s)!.push(await runsPerSecond(path, [...shape], options));
  for (const [s, rates] of rows) console.log(`| ${name} | ${s} | ${rates.map((r) => r.toFixed(1)).join(' | ')} |`);
}
