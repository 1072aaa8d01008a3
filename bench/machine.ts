// The facts about the machine and software a benchmark figure depends on, read where they live
// (/proc/cpuinfo, the OS, installed package versions) rather than typed in by hand.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  node: string;
  onnxruntimeNode: string;
  fastify: string;
}

function cpuinfoField(cpuinfo: string, field: string): string | undefined {
  return new RegExp(`^${field}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
}

/** The model name, plus family/model numbers when the name alone (e.g. "AMD EPYC") does not say the generation. */
function cpuName(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const name = cpuinfoField(cpuinfo, 'model name') ?? 'unknown CPU';
  return `${name} (family ${cpuinfoField(cpuinfo, 'cpu family') ?? '?'}, model ${cpuinfoField(cpuinfo, 'model') ?? '?'})`;
}

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  return (require(`${name}/package.json`) as { version: string }).version;
}

export function describeMachine(): Machine {
  return {
    cpu: cpuName(),
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    fastify: packageVersion('fastify'),
  };
}
