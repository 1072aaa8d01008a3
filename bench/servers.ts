// Starts the servers under test as child processes and stops them: Weft through its built CLI
// (the test kit's `startWeft`), and the plain fastify server through tsx.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startWeft } from '../test/kit/weft-process.js';
import { MODEL_NAME, MODEL_PATH } from './model.js';

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The flags every Weft variant gets: only the benchmarked model, loaded before it listens. */
const WEFT_BASE_FLAGS = ['--model', `${MODEL_NAME}=${MODEL_PATH}`, '--load', 'eager'];

export async function startWeftServer(flags: readonly string[]): Promise<RunningServer> {
  const weft = await startWeft([...WEFT_BASE_FLAGS, ...flags]);
  return {
    url: weft.url,
    pid: weft.proc.pid!,
    stop: async () => {
      const code = await weft.stop();
      if (code !== 0) throw new Error(`weft exited with ${code}:\n${weft.logs()}`);
    },
  };
}

const PLAIN_SERVER = fileURLToPath(new URL('./plain-server.ts', import.meta.url));

/** The plain server, on the benchmark's model unless another is named. */
export async function startPlainServer(model: string = MODEL_PATH): Promise<RunningServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', PLAIN_SERVER], {
    env: { ...process.env, PLAIN_SERVER_MODEL: model },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(proc, 'exit');
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const m = /plain server listening url=(\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then(([code]) => reject(new Error(`plain server exited with ${code} before listening:\n${stdout}`)));
  });
  return {
    url,
    pid: proc.pid!,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
