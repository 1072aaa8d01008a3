// GPU discovery for the inventory: `nvidia-smi --query-gpu=name,memory.total` where the command
// exists; none where it does not. The spawner is the seam tests use to play its output.

import { execFile } from 'node:child_process';
import type { Spawner } from '../telemetry/index.js';
import type { DeviceDiscovery, Gpu } from './seams.js';

const MIB = 1024 ** 2;

export function parseGpuList(csv: string): Gpu[] {
  return csv
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const cut = line.lastIndexOf(',');
      const memory = Number(line.slice(cut + 1).trim());
      return { model: line.slice(0, cut).trim(), memoryBytes: Number.isFinite(memory) ? Math.round(memory * MIB) : 0 };
    });
}

const execSpawner: Spawner = (command, args) =>
  new Promise((resolve, reject) => execFile(command, [...args], { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));

export function nvidiaSmiDiscovery(command: string, spawn: Spawner = execSpawner): DeviceDiscovery {
  return async () => {
    try {
      return parseGpuList(await spawn(command, ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']));
    } catch {
      return [];
    }
  };
}
