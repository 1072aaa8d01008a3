// An in-process node with no models of its own and an admin token, for suites that deploy apps
// through the admin API (real HTTP): the node, its URL, the auth headers and `deploy(ref)`.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startNode, type WeftNode } from '../../src/node.js';
import { createLogger } from '../../src/telemetry/index.js';

export interface AdminNode {
  node: WeftNode;
  url: string;
  /** With an admin token every API asks for a key (docs/security.md): the token is one. */
  auth: Record<string, string>;
  deploy(ref: string): Promise<{ status: number; body: { app?: { name: string }; code?: string; error?: string } }>;
}

/** Starts the node in `dir` (data dir and an empty model folder there); `log` gets its log lines at `level`. */
export async function startAdminNode(dir: string, token: string, level: 'info' | 'error' = 'error', log: (line: string) => void = () => undefined): Promise<AdminNode> {
  mkdirSync(join(dir, 'no-models'), { recursive: true });
  const config = loadConfig({
    flags: { port: '0', models: join(dir, 'no-models'), 'data-dir': join(dir, 'data'), 'allow-unsigned': 'true', 'admin-token': token },
  });
  const node = await startNode(config, createLogger(level, log));
  const url = `http://127.0.0.1:${node.address.port}`;
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  return {
    node,
    url,
    auth,
    async deploy(ref) {
      const res = await fetch(`${url}/admin/apps`, { method: 'POST', headers: auth, body: JSON.stringify({ ref }) });
      return { status: res.status, body: (await res.json()) as { app?: { name: string }; code?: string; error?: string } };
    },
  };
}
