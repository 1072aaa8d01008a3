import { it } from 'node:test';
import assert from 'node:assert/strict';
import { renderSvg, textWidth } from './plot.js';
import { summarize } from './stats.js';
import type { BenchReport } from './report.js';

function step(label: string, throughput: number, p50: number, p99: number) {
  return { label, mode: 'closed' as const, windowS: 10, ok: 100, throughput, latencyMs: { ...summarize([p50]), p50, p99 }, errors: {}, dropped: 0 };
}

it('keeps a long title and every step label inside the picture and off the axes', () => {
  const report: BenchReport = {
    target: 'http://127.0.0.1:8080',
    workload: "KServe v2 binary infer on 'ppocr-rec' at /v2/models/ppocr-rec/infer, x FP32[1,3,48,320] (184387 bytes per request)",
    command: 'weft bench',
    startedAt: new Date(0).toISOString(),
    // The fastest step lands at the right edge, the first at the bottom: where labels used to spill.
    steps: [step('concurrency 1', 20, 1, 60), step('concurrency 4', 55, 30, 90), step('concurrency 16', 98, 160, 300)],
  };
  const svg = renderSvg(report);
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  const axisY = Number(/<line x1="78" y1="(\d+(?:\.\d+)?)" x2="\d+" y2="\1" stroke="black"\/>/.exec(svg)![1]);
  const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="(\d+)"[^>]*?(text-anchor="(\w+)")?[^>]*>([^<]*)<\/text>/g)];
  const title = texts.filter((t) => t[3] === '15').map((t) => t[6]).join(' ');
  assert.equal(title, report.workload, 'the whole title is drawn');
  for (const t of texts) {
    const [x, y, size, anchor, text] = [Number(t[1]), Number(t[2]), Number(t[3]), t[5] ?? 'start', t[6]!];
    const w = textWidth(text, size);
    const [from, to] = anchor === 'end' ? [x - w, x] : anchor === 'middle' ? [x - w / 2, x + w / 2] : [x, x + w];
    assert.ok(from >= 0 && to <= width && y <= height, `'${text}' at ${x},${y} fits in ${width}x${height}`);
    if (text.startsWith('concurrency')) assert.ok(y < axisY - 2, `step label '${text}' stays above the x axis (${y} vs ${axisY})`);
  }
});
