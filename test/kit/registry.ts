// Starts a real OCI registry (Debian's docker-registry, distribution 2.8) on a free loopback
// port with its storage in a temp folder, optionally behind htpasswd Basic auth, and stops it.
// Distribution 2.8 has no referrers API, so the tag-schema fallback is what runs against it.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { freePort } from './net.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** host:port */
  host: string;
  /** Folder the registry stores blobs in (docker/registry/v2/…), for tampering tests. */
  storage: string;
  /** SIGSTOP: the kernel still accepts connections, the registry answers none (a hung registry). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
}


export interface RegistryOptions {
  /** htpasswd Basic auth with these users. */
  users?: Record<string, string>;
  /** Bearer token auth, trusting tokens of this service (see token-service.ts). */
  token?: { realm: string; service: string; issuer: string; certPath: string };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-registry-'));
  const storage = join(dir, 'data');
  let auth = '';
  if (options.users) {
    const lines = Object.entries(options.users).map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`);
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth = `auth:\n  htpasswd:\n    realm: weft-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  if (options.token) {
    const t = options.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certPath}\n`;
  }
  // A port taken between freePort() and the registry's bind makes it exit; try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: weft-test-secret
${auth}`;
    await writeFile(join(dir, 'config.yml'), config);
    const proc: ChildProcess = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    const host = `127.0.0.1:${port}`;
    for (let i = 0; i < 300 && !exited; i++) {
      const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
      if (ok) {
        return {
          host,
          storage,
          pause: () => void proc.kill('SIGSTOP'),
          resume: () => void proc.kill('SIGCONT'),
          stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) {
              // A paused registry would hold SIGTERM until continued.
              proc.kill('SIGCONT');
              proc.kill('SIGTERM');
              await once(proc, 'exit');
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await sleep(100);
    }
    proc.kill('SIGKILL');
    if (!exited) throw new Error(`docker-registry did not answer on ${host}:\n${stderr}`);
  }
  throw new Error('docker-registry could not bind a free port in 5 attempts');
}
