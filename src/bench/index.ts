// Load generation and reporting behind `weft bench`.
export { runBench } from './bench.js';
export { Protocols } from './workloads.js';
export { formatTable } from './report.js';
export { renderSvg, writePlot } from './plot.js';
export { summarize, percentile } from './stats.js';
export type { BenchOptions } from './bench.js';
export type { BenchReport } from './report.js';
export type { StepResult } from './runner.js';
export type { Protocol } from './workloads.js';
