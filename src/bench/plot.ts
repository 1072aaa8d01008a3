// The sweep as a chart: latency (p50 and p99) against throughput, one point per step, written as
// SVG, or as PNG rendered from that SVG by resvg.

import { writeFileSync } from 'node:fs';
import type { BenchReport } from './report.js';

const W = 720;
const PLOT_H = 340;
const M = { left: 78, right: 30, bottom: 60 };
const TITLE_SIZE = 15;
/** Width of one character of sans-serif text, as a fraction of its font size (generous, so text never overflows). */
const CHAR_WIDTH = 0.6;

/** Splits text into lines that fit `width` pixels at `size`: the title is a workload description of any length. */
export function wrapText(text: string, width: number, size: number): string[] {
  const perLine = Math.max(10, Math.floor(width / (size * CHAR_WIDTH)));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let w = word; w.length > 0; ) {
      const candidate = line === '' ? w : `${line} ${w}`;
      if (candidate.length <= perLine) {
        line = candidate;
        w = '';
      } else if (line !== '') {
        lines.push(line);
        line = '';
      } else {
        lines.push(w.slice(0, perLine));
        w = w.slice(perLine);
      }
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export function textWidth(text: string, size: number): number {
  return text.length * size * CHAR_WIDTH;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((c) => c >= v)!;
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function renderSvg(report: BenchReport): string {
  const steps = report.steps.filter((s) => s.ok > 0);
  const title = wrapText(report.workload, W - 2 * 16, TITLE_SIZE);
  const top = 16 + title.length * (TITLE_SIZE + 4) + 16;
  const H = top + PLOT_H + M.bottom;
  const titleSvg = title.map((line, i) => `<text x="16" y="${16 + (i + 1) * (TITLE_SIZE + 4) - 4}" font-size="${TITLE_SIZE}">${escape(line)}</text>`).join('\n');
  const xMax = niceMax(Math.max(...steps.map((s) => s.throughput)) * 1.05);
  const yMax = niceMax(Math.max(...steps.map((s) => s.latencyMs.p99)) * 1.05);
  const x = (v: number) => M.left + (v / xMax) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / yMax) * PLOT_H;
  const ticks = (max: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const series = (pick: (s: (typeof steps)[number]) => number, colour: string, name: string, offset: number) => {
    const pts = steps.map((s) => `${x(s.throughput).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' ');
    const dots = steps.map((s) => `<circle cx="${x(s.throughput).toFixed(1)}" cy="${y(pick(s)).toFixed(1)}" r="4" fill="${colour}"/>`).join('');
    return `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"/>${dots}<text x="${M.left + 12}" y="${top + 16 + offset}" fill="${colour}" font-size="13">${name}</text>`;
  };
  // Step labels stay inside the plot: below their point unless that would reach the x axis,
  // left of it when the right edge is near.
  const labels = steps
    .map((s) => {
      const px = x(s.throughput);
      const py = y(s.latencyMs.p50);
      const below = py + 16 <= H - M.bottom - 4;
      const left = px + 6 + textWidth(s.label, 11) > W - M.right;
      return `<text x="${(left ? px - 6 : px + 6).toFixed(1)}" y="${(below ? py + 16 : py - 8).toFixed(1)}" font-size="11" fill="#555"${left ? ' text-anchor="end"' : ''}>${escape(s.label)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${titleSvg}
${ticks(xMax).map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${H - M.bottom}" stroke="#eee"/><text x="${x(t)}" y="${H - M.bottom + 18}" font-size="11" text-anchor="middle">${+t.toPrecision(3)}</text>`).join('')}
${ticks(yMax).map((t) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${M.left - 8}" y="${y(t) + 4}" font-size="11" text-anchor="end">${+t.toPrecision(3)}</text>`).join('')}
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>
<line x1="${M.left}" y1="${top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>
<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" font-size="13" text-anchor="middle">throughput (requests/s)</text>
<text transform="translate(20 ${(top + H - M.bottom) / 2}) rotate(-90)" font-size="13" text-anchor="middle">latency (ms)</text>
${series((s) => s.latencyMs.p50, '#1f77b4', 'p50 latency', 0)}
${series((s) => s.latencyMs.p99, '#d62728', 'p99 latency', 18)}
${labels}
</svg>
`;
}

/** Writes the chart; the format follows the file extension (.svg or .png). */
export async function writePlot(report: BenchReport, path: string): Promise<void> {
  const svg = renderSvg(report);
  if (path.endsWith('.svg')) {
    writeFileSync(path, svg);
    return;
  }
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
  writeFileSync(path, png);
}
