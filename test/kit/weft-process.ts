// Starts the real `weft` CLI (the built dist/, as a user runs it) as a child process on a free
// port, waits until it listens, and stops it. End-to-end suites share this.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface WeftProcess {
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  logs(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `cli`: another build of the CLI (an installed package's); `cwd`: where it runs; `startMs`: how
 * long it may take to listen (60 s); `nodeArgs`: flags for node itself, before the script.
 */
export async function startWeft(args: string[], env: Record<string, string> = {}, options: { cli?: string; cwd?: string; startMs?: number; nodeArgs?: string[] } = {}): Promise<WeftProcess> {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), options.cli ?? CLI, 'serve', '--port', '0', ...args], {
    cwd: options.cwd,
    // A shared data dir outside the home folder; its component cache is safe to share (atomic entries).
    // Not its keys: a suite that creates API keys passes its own WEFT_DATA_DIR, or auth turns on
    // for every suite after it.
    // gRPC is off unless a test asks for it: nodes started together would all want port 8081.
    env: { ...process.env, WEFT_DATA_DIR: join(tmpdir(), 'weft-test-data'), WEFT_GRPC_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const startMs = options.startMs ?? 60_000;
    const timer = setTimeout(() => reject(new Error(`weft did not start within ${startMs / 1000} s:\n${stderr}`)), startMs);
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /weft node listening url=(https?:\/\/[^\s]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`weft exited with ${code} before listening:\n${stderr}`));
    });
  });
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return {
    url,
    proc,
    logs: () => stderr,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Fetch that returns the status, headers and parsed JSON body. */
export async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

export function postJson(url: string, body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  return fetchJson(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
