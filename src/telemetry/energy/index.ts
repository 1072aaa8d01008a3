// Energy: meters behind one interface (RAPL, nvidia-smi, estimators) and the accountant that
// splits each interval's joules exactly between the work that ran in it and idle.
export { RaplMeter } from './rapl.js';
export { NvidiaSmiMeter, execSpawner, parsePowerDraw, QUERY_ARGS } from './nvidia.js';
export { CpuEstimator, GpuEstimator } from './estimator.js';
export { EnergyAccountant, IDLE } from './accountant.js';
export { EnergySources } from './meter.js';
export { openMeters } from './open.js';
export type { EnergyMeter, EnergySource, EnergyDevice } from './meter.js';
export type { Spawner } from './nvidia.js';
export type { EnergySink, DevicePower, Share, ShareOwner, Work } from './accountant.js';
export type { MeterOptions } from './open.js';
