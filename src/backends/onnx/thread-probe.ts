// How many intra-op threads serve a model best on this CPU, measured once on its real traffic.
// ONNX Runtime's default (a thread per core) pays for some models and costs others: on a 2-core
// AMD EPYC, in-process ppocr-cls ran 1,050-1,170 runs/s on one thread against 715-893 on the
// default without spinning, while ppocr-rec was as fast or faster on the default
// (bench/threads.ts, bench/TRANSPORTS.md). So when the user set no thread count, a model's
// worker times its session against a one-thread session on a real batch it was sent and keeps
// the faster.

import os from 'node:os';
import type { LoadOptions, Tensor } from '../types.js';

/** Real runs after which the probe runs: the first ones warm the session's arenas. */
export const PROBE_AFTER_RUNS = 8;
/** Sessions whose load grew RSS by more are not opened twice to compare. */
export const PROBE_MAX_SESSION_BYTES = 128 * 1024 ** 2;
/** The probe's time budget per session, at most MAX_ROUNDS runs each. */
const PROBE_MS = 150;
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 15;
/** One thread must be this much faster to be kept: a close call keeps the runtime's default. */
const MARGIN = 0.9;

/** Whether to probe: the user chose no thread count, one instance, a CPU session, cores to choose from. */
export function shouldProbe(options: LoadOptions, device: string, sessionBytes: number, cores = os.availableParallelism()): boolean {
  return options.intraOpThreads === 0 && options.instances <= 1 && device === 'cpu' && cores > 1 && sessionBytes <= PROBE_MAX_SESSION_BYTES;
}

export type Run = (inputs: Record<string, Tensor>, outputs: readonly string[]) => Promise<unknown>;

export interface ProbeResult {
  /** Keep the one-thread session. */
  oneThread: boolean;
  /** For the model's status. */
  note: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Times both sessions on the same batch, alternating (so a noisy moment hits both), and picks. */
export async function probeThreads(current: Run, oneThread: Run, inputs: Record<string, Tensor>, outputs: readonly string[], now: () => number = () => performance.now()): Promise<ProbeResult> {
  const time = async (run: Run) => {
    const started = now();
    await run(inputs, outputs);
    return now() - started;
  };
  const first = await time(current);
  await time(oneThread); // its first run pays its own warm-up
  const rounds = Math.max(MIN_ROUNDS, Math.min(MAX_ROUNDS, Math.floor(PROBE_MS / Math.max(first, 0.01))));
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(await time(current));
    b.push(await time(oneThread));
  }
  const [ms, oneMs] = [median(a), median(b)];
  const figures = `${oneMs.toFixed(2)} ms per run on 1 intra-op thread, ${ms.toFixed(2)} ms on the runtime's default (median of ${rounds}, on a real batch)`;
  return oneMs < ms * MARGIN ? { oneThread: true, note: `1 intra-op thread: ${figures}` } : { oneThread: false, note: `the runtime's default intra-op threads: ${figures}` };
}
