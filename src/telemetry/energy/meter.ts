// The one interface every energy meter implements: a monotonic count of joules a device has used
// since the meter opened, and whether that count is measured by hardware or estimated.

export const EnergySources = ['measured', 'estimated'] as const;
export type EnergySource = (typeof EnergySources)[number];

/** Devices energy is counted for, named as models name theirs. */
export type EnergyDevice = 'cpu' | 'cuda';

export interface EnergyMeter {
  /** What reads it, for logs: `rapl`, `nvidia-smi`, `estimator`. */
  readonly name: string;
  readonly device: EnergyDevice;
  readonly source: EnergySource;
  /** Joules used since the meter opened; never decreases. */
  read(): Promise<number>;
}
