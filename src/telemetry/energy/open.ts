// Picks the node's energy meters from its settings: for each device a measuring meter where one
// can be read, else (in `auto`) the estimator, so every joule reported says how it was obtained.

import { ErrorCode, WeftError } from '../../errors.js';
import { CpuEstimator, GpuEstimator } from './estimator.js';
import type { EnergyMeter } from './meter.js';
import { execSpawner, NvidiaSmiMeter, type Spawner } from './nvidia.js';
import { RaplMeter } from './rapl.js';

export interface MeterOptions {
  mode: 'auto' | 'rapl' | 'nvidia' | 'estimate' | 'off';
  raplRoot: string;
  nvidiaSmi: string;
  cpuWattsPerCore: number;
  idleWatts: number;
  gpuTdpWatts: number;
  /** Whether models may run on a GPU, so a GPU estimate is worth making. */
  gpu: boolean;
  /** GPU busy milliseconds, for the GPU estimator. */
  gpuBusyMs: () => number;
  spawn?: Spawner;
  log: { info(message: string, fields?: object): void; warn(message: string, fields?: object): void };
}

export async function openMeters(o: MeterOptions): Promise<EnergyMeter[]> {
  if (o.mode === 'off') return [];
  const spawn = o.spawn ?? execSpawner;
  const meters: EnergyMeter[] = [];
  const want = (kind: 'rapl' | 'nvidia') => o.mode === 'auto' || o.mode === kind;

  let cpu: EnergyMeter | undefined;
  if (want('rapl')) {
    try {
      cpu = await RaplMeter.open(o.raplRoot);
    } catch (err) {
      if (o.mode === 'rapl') throw new WeftError(ErrorCode.InvalidConfig, `--energy rapl: ${(err as Error).message}`, { field: 'energy', cause: err });
      o.log.info('RAPL energy counters not readable; CPU energy is estimated', { reason: (err as Error).message });
    }
  }
  let gpu: EnergyMeter | undefined;
  if (want('nvidia')) {
    try {
      gpu = await NvidiaSmiMeter.open(o.nvidiaSmi, spawn);
    } catch (err) {
      if (o.mode === 'nvidia') throw new WeftError(ErrorCode.InvalidConfig, `--energy nvidia: ${(err as Error).message}`, { field: 'energy', cause: err });
    }
  }
  const estimate = o.mode === 'auto' || o.mode === 'estimate';
  if (cpu === undefined && estimate) cpu = new CpuEstimator(o.cpuWattsPerCore, o.idleWatts);
  if (gpu === undefined && estimate && o.gpu) gpu = new GpuEstimator(o.gpuTdpWatts, o.gpuBusyMs);
  if (cpu) meters.push(cpu);
  if (gpu) meters.push(gpu);
  o.log.info('energy meters', { meters: meters.map((m) => `${m.device}:${m.name}:${m.source}`).join(',') });
  return meters;
}
