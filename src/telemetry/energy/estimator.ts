// Energy estimates for machines without readable meters: CPU time of this process times a
// configured power per busy core plus the node's idle power over wall time; GPU busy time (the
// batches run on cuda) times a configured board power. Always labelled `estimated`.

import type { EnergyMeter } from './meter.js';

export class CpuEstimator implements EnergyMeter {
  readonly name = 'estimator';
  readonly device = 'cpu' as const;
  readonly source = 'estimated' as const;
  private readonly startCpuUs: number;
  private readonly startAt: number;

  constructor(
    private readonly wattsPerCore: number,
    private readonly idleWatts: number,
    /** Microseconds of CPU this process has used (user + system). */
    private readonly cpuUs: () => number = () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startCpuUs = cpuUs();
    this.startAt = now();
  }

  async read(): Promise<number> {
    const cpuSeconds = (this.cpuUs() - this.startCpuUs) / 1e6;
    const wallSeconds = (this.now() - this.startAt) / 1000;
    return cpuSeconds * this.wattsPerCore + wallSeconds * this.idleWatts;
  }
}

export class GpuEstimator implements EnergyMeter {
  readonly name = 'estimator';
  readonly device = 'cuda' as const;
  readonly source = 'estimated' as const;

  constructor(
    private readonly tdpWatts: number,
    /** Milliseconds the GPU has spent running batches. */
    private readonly busyMs: () => number,
  ) {}

  async read(): Promise<number> {
    return (this.busyMs() / 1000) * this.tdpWatts;
  }
}
