// Runs one `weft` CLI command (the built dist/, as a user runs it) to completion, or starts one
// to kill it halfway; end-to-end suites share this.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnWeft(args: string[], env: Record<string, string> = {}, cwd?: string): ChildProcess {
  // gRPC is off unless a test asks for it: nodes started together would all want port 8081.
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, WEFT_GRPC_PORT: '0', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runWeft(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  const proc = spawnWeft(args, env, cwd);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a command that must succeed; the error shows its output. */
export async function weftOk(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<string> {
  const r = await runWeft(args, env, cwd);
  if (r.code !== 0) throw new Error(`weft ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
