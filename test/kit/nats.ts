// Starts real nats-server processes for the fleet suites: a cluster of three servers with
// JetStream on free loopback ports, each with its own temp store folder. A server can be killed
// (kill -9) and started again on the same ports and store, as an outage would go.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './net.js';

export const NATS_BINARY = process.env.NATS_SERVER ?? 'nats-server';


async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface NatsServer {
  name: string;
  /** nats://127.0.0.1:PORT */
  url: string;
  monitorUrl: string;
  running(): boolean;
  /** kill -9. */
  kill(): Promise<void>;
  /** Starts it again with the same ports and store. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  servers: NatsServer[];
  /** Every client URL, comma-separated, as `--fleet` takes them. */
  urls: string;
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` servers (1 gives a plain single server). A start that fails
 * (a server that exits or never gets JetStream ready) kills what it started and tries once more
 * on fresh ports; a failure left running would keep the test process, and CI, from ever ending.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  try {
    return await startOnce(size);
  } catch (first) {
    console.error(`nats cluster did not start, trying again on fresh ports: ${(first as Error).message}`);
    return startOnce(size);
  }
}

async function startOnce(size: number): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-nats-'));
  const free = await freePorts(size * 3);
  const ports = Array.from({ length: size }, (_, i) => ({ client: free[3 * i]!, route: free[3 * i + 1]!, monitor: free[3 * i + 2]! }));
  const procs = new Map<string, ChildProcess>();
  const logs = new Map<string, string>();
  const servers: NatsServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      const p = ports[i]!;
      const routes = ports.filter((_, j) => j !== i).map((q) => `nats-route://127.0.0.1:${q.route}`);
      const cluster = size > 1 ? `cluster {\n  name: weft-test\n  listen: 127.0.0.1:${p.route}\n  routes: [${routes.join(', ')}]\n}\n` : '';
      const config = `server_name: ${name}
listen: 127.0.0.1:${p.client}
http: 127.0.0.1:${p.monitor}
jetstream {
  store_dir: "${join(dir, name)}"
  max_memory_store: 64MB
  max_file_store: 256MB
}
${cluster}`;
      const file = join(dir, `${name}.conf`);
      await writeFile(file, config);
      const start = async () => {
        const proc = spawn(NATS_BINARY, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
        logs.set(name, '');
        proc.stderr!.on('data', (c: Buffer) => logs.set(name, (logs.get(name)! + c.toString()).slice(-4000)));
        procs.set(name, proc);
        for (let t = 0; t < 100; t++) {
          if (proc.exitCode !== null) throw new Error(`nats-server ${name} exited:\n${logs.get(name)}`);
          if (await listening(p.client)) return;
          await sleep(100);
        }
        throw new Error(`nats-server ${name} did not listen on ${p.client}:\n${logs.get(name)}`);
      };
      servers.push({
        name,
        url: `nats://127.0.0.1:${p.client}`,
        monitorUrl: `http://127.0.0.1:${p.monitor}`,
        running: () => {
          const proc = procs.get(name);
          return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
        },
        kill: async () => {
          const proc = procs.get(name);
          if (proc && proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGKILL');
            await once(proc, 'exit');
          }
        },
        restart: start,
      });
      await start();
    }
    // Wait for JetStream to be ready on every server (a clustered meta leader is elected first).
    for (const s of servers) {
      for (let t = 0; ; t++) {
        const health = await fetch(`${s.monitorUrl}/healthz?js-enabled-only=true`).then(
          async (r) => ({ ok: r.ok, body: await r.text() }),
          (e: Error) => ({ ok: false, body: e.message }),
        );
        if (health.ok) break;
        if (t > 300) throw new Error(`nats-server ${s.name}: JetStream not ready after 30 s (healthz: ${health.body}); its log ends:\n${logs.get(s.name)}`);
        await sleep(100);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, urls: servers.map((s) => s.url).join(','), stop };
}
