// Live line charts (uPlot) that keep the history of the figures the node sent: one point per
// snapshot per series, the last few minutes. Nothing here derives a figure; it only draws them.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Points kept per series: five minutes at one snapshot a second. */
const HISTORY = 300;
const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16'];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export class LiveChart {
  private plot: uPlot | undefined;
  private names: string[] = [];
  private readonly times: number[] = [];
  private readonly values = new Map<string, Array<number | null>>();
  private readonly resize = new ResizeObserver(() => this.plot?.setSize(this.size()));

  constructor(
    private readonly el: HTMLElement,
    private readonly format: (n: number) => string,
  ) {
    this.resize.observe(el);
  }

  /** Adds the figures of one snapshot (series name → value); a series seen first now starts empty before. */
  push(atMs: number, points: Record<string, number>): void {
    this.times.push(atMs / 1000);
    for (const name of Object.keys(points)) if (!this.values.has(name)) this.values.set(name, new Array(this.times.length - 1).fill(null));
    for (const [name, list] of this.values) list.push(points[name] ?? null);
    if (this.times.length > HISTORY) {
      this.times.shift();
      for (const list of this.values.values()) list.shift();
    }
    const names = [...this.values.keys()];
    if (this.plot === undefined || names.join('\u0000') !== this.names.join('\u0000')) this.build(names);
    else this.plot.setData(this.data());
  }

  /** Redraws with the current colour scheme. */
  restyle(): void {
    if (this.plot !== undefined) this.build(this.names);
  }

  private data(): uPlot.AlignedData {
    return [this.times, ...this.names.map((n) => this.values.get(n)!)] as uPlot.AlignedData;
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.el.clientWidth), height: 180 };
  }

  private build(names: string[]): void {
    this.plot?.destroy();
    this.names = names;
    const fg = cssVar('--muted');
    const grid = { stroke: cssVar('--grid'), width: 1 };
    const fmt = (v: number | null) => (v === null || v === undefined ? '—' : this.format(v));
    this.plot = new uPlot(
      {
        ...this.size(),
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: fg, grid, ticks: grid },
          { stroke: fg, grid, ticks: grid, size: 64, values: (_u, ticks) => ticks.map((t) => this.format(t)) },
        ],
        series: [{}, ...names.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length]!, width: 2, points: { show: false }, spanGaps: false, value: (_u: uPlot, v: number | null) => fmt(v) }))],
        legend: { live: false },
      },
      this.data(),
      this.el,
    );
  }
}
