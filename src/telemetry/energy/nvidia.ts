// NVIDIA GPUs through `nvidia-smi --query-gpu`: reads the power draw of every GPU and integrates
// it over time (trapezoids) into joules. The process spawner is a constructor seam so tests can
// play nvidia-smi's output on machines without a GPU.

import { execFile } from 'node:child_process';
import type { EnergyMeter } from './meter.js';

/** Runs a command and resolves with its standard output; rejects when it fails. */
export type Spawner = (command: string, args: readonly string[]) => Promise<string>;

export const QUERY_ARGS = ['--query-gpu=index,power.draw', '--format=csv,noheader,nounits'] as const;

export const execSpawner: Spawner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

/** Total watts of all GPUs in nvidia-smi's CSV; throws when a GPU reports no power reading. */
export function parsePowerDraw(csv: string): number {
  let watts = 0;
  let gpus = 0;
  for (const line of csv.split('\n')) {
    if (line.trim() === '') continue;
    const [index, power] = line.split(',').map((s) => s.trim());
    const w = Number(power);
    if (power === undefined || power === '' || !Number.isFinite(w)) throw new Error(`nvidia-smi gave no power reading for GPU ${index}: '${line.trim()}'`);
    watts += w;
    gpus++;
  }
  if (gpus === 0) throw new Error('nvidia-smi listed no GPUs');
  return watts;
}

export class NvidiaSmiMeter implements EnergyMeter {
  readonly name = 'nvidia-smi';
  readonly device = 'cuda' as const;
  readonly source = 'measured' as const;
  private joules = 0;

  private constructor(
    private readonly command: string,
    private readonly spawn: Spawner,
    private readonly now: () => number,
    private lastWatts: number,
    private lastAt: number,
  ) {}

  /** Opens the meter with a first reading; fails when nvidia-smi is missing or reads no power. */
  static async open(command: string, spawn: Spawner = execSpawner, now: () => number = () => performance.now()): Promise<NvidiaSmiMeter> {
    const watts = parsePowerDraw(await spawn(command, QUERY_ARGS));
    return new NvidiaSmiMeter(command, spawn, now, watts, now());
  }

  async read(): Promise<number> {
    const watts = parsePowerDraw(await this.spawn(this.command, QUERY_ARGS));
    const at = this.now();
    this.joules += ((this.lastWatts + watts) / 2) * ((at - this.lastAt) / 1000);
    this.lastWatts = watts;
    this.lastAt = at;
    return this.joules;
  }
}
