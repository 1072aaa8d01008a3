// Memory of a node over a soak: `weft serve` with the embedded default (the OCR app and its three
// models), RSS idle after start, then under a steady mixed load — the OCR app reading a rendered
// PNG (component, sandbox, two models) and KServe binary on ppocr-cls — sampled at the end of
// every window, then idle again. Growth is the least-squares slope of RSS over the second half of
// the soak, in MiB per minute: a leak shows as a steady slope; caches warming show in the first
// half and flatten. The whole process is measured (model workers are threads of it); beside RSS,
// the node's own /metrics give V8's heap in use and its external memory (ArrayBuffers), so what
// is left is native (onnxruntime's arenas, the allocator).
//
//   node --import tsx bench/memory.ts [--minutes 10] [--window 30] [-- <extra weft serve flags>]
// Results: bench/MEMORY.md.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { binaryInferRequest, float32Bytes } from '../test/kit/binary.js';
import { renderText } from '../test/kit/render.js';
import { startWeft } from '../test/kit/weft-process.js';
import { describeMachine } from './machine.js';
import { closedLoop, postCall, type StepResult } from './measure.js';
import { inputImage } from './model.js';

function rssMiB(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** V8 heap in use and external memory, MiB, from the node's /metrics (prom-client's process metrics). */
async function v8MiB(base: string): Promise<{ heap: number; external: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) / 2 ** 20;
  return { heap: read('nodejs_heap_size_used_bytes'), external: read('nodejs_external_memory_bytes') };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const { values, positionals: serveFlags } = parseArgs({ allowPositionals: true, options: { minutes: { type: 'string', default: '10' }, window: { type: 'string', default: '30' } } });
  const windowMs = Number(values.window) * 1000;
  const windows = Math.max(2, Math.round((Number(values.minutes) * 60_000) / windowMs));
  const weft = await startWeft(serveFlags);
  const pid = weft.proc.pid!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const png = (await renderText(['Weft reads this line', 'and this one, 12345'])).png;
  const ocr = postCall(new URL('/apps/ocr', weft.url), png, { 'Content-Type': 'image/png' }, agent);
  const cls = binaryInferRequest([{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], bytes: float32Bytes(inputImage().subarray(0, 3 * 48 * 192)) }]);
  const kserve = postCall(new URL('/v2/models/ppocr-cls/infer', weft.url), cls.body, cls.headers, agent);
  const rows: Array<{ at: number; rss: number; heap: number; external: number; ocr?: StepResult; kserve?: StepResult }> = [];
  const started = Date.now();
  try {
    await sleep(5000);
    rows.push({ at: 0, rss: rssMiB(pid), ...(await v8MiB(weft.url)) });
    for (let i = 0; i < windows; i++) {
      const [o, k] = await Promise.all([closedLoop(ocr, { concurrency: 2, warmupMs: 0, measureMs: windowMs }), closedLoop(kserve, { concurrency: 2, warmupMs: 0, measureMs: windowMs })]);
      rows.push({ at: (Date.now() - started) / 60_000, rss: rssMiB(pid), ...(await v8MiB(weft.url)), ocr: o, kserve: k });
    }
    await sleep(30_000);
    rows.push({ at: (Date.now() - started) / 60_000, rss: rssMiB(pid), ...(await v8MiB(weft.url)) });
  } finally {
    agent.destroy();
    await weft.stop();
  }
  const loaded = rows.filter((r) => r.ocr !== undefined);
  const secondHalf = loaded.slice(Math.floor(loaded.length / 2)).map((r): [number, number] => [r.at, r.rss]);
  const errors = loaded.reduce((n, r) => n + r.ocr!.errors + r.kserve!.errors, 0);
  const machine = describeMachine();
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`);
  console.log(`Soak: ${windows} windows of ${values.window} s; OCR app (C = 2) and KServe binary ppocr-cls (C = 2) at once; weft serve flags: ${serveFlags.join(' ') || '(defaults)'}\n`);
  console.log('| minute | RSS MiB | V8 heap used MiB | external MiB | OCR req/s | OCR p99 ms | ppocr-cls req/s | ppocr-cls p99 ms | errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const cells = r.ocr === undefined ? ['idle', '–', 'idle', '–', '–'] : [r.ocr.reqPerSec.toFixed(1), r.ocr.p99Ms?.toFixed(0) ?? '–', r.kserve!.reqPerSec.toFixed(1), r.kserve!.p99Ms?.toFixed(0) ?? '–', String(r.ocr.errors + r.kserve!.errors)];
    console.log(`| ${r.at.toFixed(1)} | ${r.rss.toFixed(0)} | ${r.heap.toFixed(0)} | ${r.external.toFixed(0)} | ${cells.join(' | ')} |`);
  }
  console.log(`\nIdle after start: ${rows[0]!.rss.toFixed(0)} MiB; peak under load: ${Math.max(...loaded.map((r) => r.rss)).toFixed(0)} MiB; idle 30 s after: ${rows.at(-1)!.rss.toFixed(0)} MiB`);
  const heapHalf = loaded.slice(Math.floor(loaded.length / 2)).map((r): [number, number] => [r.at, r.heap]);
  console.log(`Slope over the second half of the soak: RSS ${slope(secondHalf).toFixed(2)} MiB/min, V8 heap ${slope(heapHalf).toFixed(2)} MiB/min; failed requests: ${errors}`);
}

await main();
