// `weft deploy`, `weft undeploy`, `weft status` and `weft nodes`: the fleet's desired state and
// inventory through any node's admin API (/admin/fleet/...), as `weft top` reads its stats.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, WeftError, type ErrorCode as Code } from '../errors.js';
import { formatBytes } from '../config/index.js';
import type { AppStatus, NodeStatus, RouterStatus } from '../fleet/index.js';

const COMMON = '[--url http://127.0.0.1:8080] [--token T]';
export const FLEET_USAGE = {
  deploy: `weft deploy REF [--replicas N | --min A --max B] [--require gpu] [--select k=v ...] [--spread site] [--prefer-site S] [--json] ${COMMON}
  Places an app on the fleet. REF is a registry reference (host[:port]/repo:tag), a store tag, a
  layout or an app folder that every node can open (a relative path is made absolute here); each node verifies it against its own
  --trusted-keys. --replicas N runs N (default 1); --min/--max lets the scheduler scale between
  them from queue depth and latency. --require gpu and --select k=v (node labels) restrict the
  nodes; --spread site spreads replicas over sites; --prefer-site favours one.`,
  undeploy: `weft undeploy NAME [--json] ${COMMON}
  Removes an app from the fleet; nodes unload it after their in-flight requests finish.`,
  status: `weft status [NAME] [--json] ${COMMON}
  Apps in the fleet: replicas, where, state and health, and why any replica is pending; then how
  the node asked routes requests (score weights, spill-over, replicas' nodes it skips).`,
  nodes: `weft nodes [--json] ${COMMON}
  The fleet's nodes: site, labels, memory, GPUs, power, load; under --power-policy pack, the ones
  that serve nothing ("idle") and the watts sleeping them would save.`,
} as const;

type Command = keyof typeof FLEET_USAGE;

interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  url: string;
  token: string | undefined;
}

function parse(command: Command, args: string[], extra: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>): Parsed | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        token: { type: 'string', default: process.env.WEFT_ADMIN_TOKEN },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        ...extra,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${(err as Error).message}\nusage: ${FLEET_USAGE[command]}`, { cause: err });
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: ${FLEET_USAGE[command]}\n`);
    return undefined;
  }
  return { values: parsed.values, positionals: parsed.positionals, url: String(parsed.values.url).replace(/\/+$/, ''), token: parsed.values.token as string | undefined };
}

/** Calls a running node's admin API at `p.url` with `p.token`; errors keep the node's code. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each caller reads its own answer's shape
export async function admin(p: Pick<Parsed, 'url' | 'token'>, method: string, path: string, body?: unknown): Promise<any> {
  const url = `${p.url}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(p.token === undefined ? {} : { Authorization: `Bearer ${p.token}` }), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new WeftError(ErrorCode.Internal, `cannot reach ${url}: ${(err as Error).message} (is \`weft serve\` running? pass --url)`, { cause: err });
  }
  const text = await res.text();
  let json: { error?: string; code?: string; field?: string };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = { error: text };
  }
  if (!res.ok) {
    const code = (typeof json?.code === 'string' ? json.code : ErrorCode.Internal) as Code;
    throw new WeftError(code, `${json?.error ?? `${url} answered ${res.status}`}${json?.field ? ` (field ${json.field})` : ''}`);
  }
  return json;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function renderApp(a: AppStatus): string {
  const lines = [
    `${a.name}  ${a.health}  ${a.replicas.ready}/${a.replicas.target} ready (min ${a.replicas.min}, max ${a.replicas.max})  ${formatBytes(a.memoryBytes)} per replica`,
    `  ref ${a.ref}  digest ${a.digest}`,
  ];
  for (const r of a.placed) lines.push(`  ${r.node} (${r.site}): ${r.state}${r.leaving ? ', leaving (moved to consolidate)' : ''}${r.error ? ` — ${r.error}` : ''}`);
  if (a.pending) lines.push(`  pending: ${a.pending}`);
  for (const [node, error] of Object.entries(a.failed)) lines.push(`  failed on ${node}: ${error}`);
  return lines.join('\n');
}

export async function deployCommand(args: string[]): Promise<void> {
  const p = parse('deploy', args, {
    replicas: { type: 'string' },
    min: { type: 'string' },
    max: { type: 'string' },
    require: { type: 'string', multiple: true },
    select: { type: 'string', multiple: true },
    spread: { type: 'string' },
    'prefer-site': { type: 'string' },
  });
  if (p === undefined) return;
  const [ref, ...rest] = p.positionals;
  if (ref === undefined || rest.length > 0) throw new WeftError(ErrorCode.InvalidConfig, `weft deploy takes one REF\nusage: ${FLEET_USAGE.deploy}`, { field: 'ref' });
  const v = p.values;
  const int = (flag: string) => {
    const raw = v[flag] as string | undefined;
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new WeftError(ErrorCode.InvalidConfig, `--${flag} '${raw}' is not a whole number`, { field: flag });
    return Number(raw);
  };
  const select: Record<string, string> = {};
  for (const s of (v.select as string[] | undefined) ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new WeftError(ErrorCode.InvalidConfig, `--select '${s}' is not k=v`, { field: 'select' });
    select[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const body = {
    // A folder or layout named here is opened by the nodes: as an absolute path, not against
    // whatever folder each node was started in.
    ref: existsSync(ref) ? resolve(ref) : ref,
    replicas: int('replicas'),
    min: int('min'),
    max: int('max'),
    require: v.require,
    select,
    spread: v.spread,
    preferSite: v['prefer-site'],
  };
  const res = await admin(p, 'POST', '/admin/fleet/apps', body);
  if (v.json) return out(JSON.stringify(res, null, 2));
  out(`${res.created ? 'deployed' : 'unchanged'}: ${renderApp(res.app as AppStatus)}`);
}

export async function undeployCommand(args: string[]): Promise<void> {
  const p = parse('undeploy', args, {});
  if (p === undefined) return;
  const [name] = p.positionals;
  if (name === undefined || p.positionals.length > 1) throw new WeftError(ErrorCode.InvalidConfig, `weft undeploy takes one NAME\nusage: ${FLEET_USAGE.undeploy}`, { field: 'name' });
  const res = await admin(p, 'DELETE', `/admin/fleet/apps/${encodeURIComponent(name)}`);
  out(p.values.json ? JSON.stringify(res, null, 2) : `undeployed ${name}`);
}

export async function statusCommand(args: string[]): Promise<void> {
  const p = parse('status', args, {});
  if (p === undefined) return;
  const [name] = p.positionals;
  if (name !== undefined) {
    const res = await admin(p, 'GET', `/admin/fleet/apps/${encodeURIComponent(name)}`);
    return out(p.values.json ? JSON.stringify(res, null, 2) : renderApp(res.app as AppStatus));
  }
  const res = await admin(p, 'GET', '/admin/fleet/apps');
  if (p.values.json) return out(JSON.stringify(res, null, 2));
  const apps = res.apps as AppStatus[];
  if (apps.length === 0) out('no apps deployed in the fleet (weft deploy REF)');
  else {
    out(
      table(
        ['APP', 'HEALTH', 'READY', 'TARGET', 'MIN-MAX', 'NODES', 'PENDING'],
        apps.map((a) => [a.name, a.health, String(a.replicas.ready), String(a.replicas.target), `${a.replicas.min}-${a.replicas.max}`, a.placed.map((r) => `${r.node}:${r.state}${r.leaving ? '(leaving)' : ''}`).join(',') || '-', a.pending || '-']),
      ),
    );
  }
  const routing = res.routing as RouterStatus | null | undefined;
  out(routing ? renderRouting(routing) : 'routing: none (this node is not in a fleet; it serves what it holds)');
}

/** The router's score as a formula with its weights, so a user sees why a replica was picked. */
export function renderRouting(r: RouterStatus, now = Date.now()): string {
  const w = r.weights;
  const down = r.down.map((d) => `${d.node} (${Math.max(0, Math.ceil((d.until - now) / 1000))} s)`).join(', ') || 'none';
  return [
    `routing from ${r.node} (site ${r.site}): a replica here serves while fewer than ${r.spillQueue} requests are in flight for it; otherwise the lower score of two random replicas wins`,
    `  score = ${w.queue} × queued + ${w.latency} × latency ms + ${w.energy} × joules/request + ${w.site} if outside site ${r.site}`,
    `  forwards: deadline ${r.requestTimeoutMs / 1000} s when the caller sets none, retried elsewhere after ${r.idleTimeoutMs / 1000} s without word; skipped now: ${down}`,
  ].join('\n');
}

/** A node's power with how it was known: `86.9 W estimated (76.9 W of it measured)` for a metered GPU beside an estimated CPU. */
function watts(p: NodeStatus['record']['power']): string {
  const label = p.measured ? 'measured' : p.measuredWatts === undefined ? 'estimated' : `estimated (${p.measuredWatts.toFixed(1)} W of it measured)`;
  return `${p.watts.toFixed(1)} W ${label}`;
}

export async function nodesCommand(args: string[]): Promise<void> {
  const p = parse('nodes', args, {});
  if (p === undefined) return;
  const res = await admin(p, 'GET', '/admin/fleet/nodes');
  if (p.values.json) return out(JSON.stringify(res, null, 2));
  const nodes = res.nodes as NodeStatus[];
  const rows = nodes.map(({ record: r, replicas, idle, scheduler }) => [
    `${r.node}${scheduler ? '*' : ''}`,
    r.site,
    Object.entries(r.labels).map(([k, val]) => `${k}=${val}`).join(',') || '-',
    String(r.cpu.cores),
    `${formatBytes(r.free.cpu)}/${formatBytes(r.budget.cpu)}`,
    r.gpus.length === 0 ? '-' : r.gpus.map((g) => `${g.model} ${formatBytes(g.memoryBytes)}`).join(','),
    `${watts(r.power)}${r.power.budgetWatts === undefined ? '' : ` / ${r.power.budgetWatts} W`}`,
    String(replicas),
    String(r.load.reduce((n, m) => n + m.queued + m.inflight, 0)),
    r.draining ? 'draining' : idle ? `idle (sleep saves ${watts(r.power)})` : 'active',
  ]);
  out(`fleet: ${res.fleet ? `${nodes.length} nodes, policy ${res.policy}, scheduler ${res.scheduler ?? 'none'} (*)` : 'this node alone (started without --fleet)'}`);
  out(table(['NODE', 'SITE', 'LABELS', 'CPUS', 'MEM FREE/BUDGET', 'GPUS', 'POWER', 'REPLICAS', 'BUSY', 'STATE'], rows));
}
