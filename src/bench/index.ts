// Load generation and reporting behind `weft bench`.
export { runBench } from './bench.js';
export { runLoad, runStep } from './runner.js';
export { createWorkload, decodeInferResponse } from './workloads.js';
export { machineBusyMs } from './cpu.js';
export { Protocols } from './workloads.js';
export { formatTable } from './report.js';
export { renderSvg, writePlot } from './plot.js';
export { summarize, percentile } from './stats.js';
export type { BenchOptions } from './bench.js';
export type { BenchReport } from './report.js';
export type { Send, StepPlan, StepResult } from './runner.js';
export type { CpuUsage } from './cpu.js';
export type { Outcome, Protocol, ResponseOutput, Workload, WorkloadOptions } from './workloads.js';
