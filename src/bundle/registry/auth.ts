// Registry credentials and the two auth schemes OCI registries use: Basic, and Bearer tokens
// fetched from the realm a 401's WWW-Authenticate names (the Docker token flow). Credentials come
// from flags/env (the node config) first, then ~/.docker/config.json `auths` as other OCI tools
// read it; credential helpers (credsStore) are not run.

import { readFileSync } from 'node:fs';

export interface Credentials {
  username: string;
  password: string;
}

/** Reads `auths[registry].auth` (base64 "user:password") from a Docker config file, if any. */
export function dockerConfigCredentials(configPath: string, registry: string): Credentials | undefined {
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    doc = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    return undefined;
  }
  const auths = doc.auths ?? {};
  const entry = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`] ?? auths[`https://${registry}/v2/`];
  if (!entry) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`). */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)="([^"]*)"/g;
  for (let m = re.exec(header); m; m = re.exec(header)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
