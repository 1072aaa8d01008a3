// `weft top`: a live terminal view of a node's /admin/stats — per model and app: request rate,
// p50/p99 latency, queue, in-flight, batch size, power and joules per request. `--once` (or a
// stdout that is not a terminal) prints plain frames without redrawing the screen.

import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, WeftError } from '../errors.js';
import type { AdminStats } from '../telemetry/index.js';

const CLEAR = '\x1b[2J\x1b[H';

function fixed(n: number, digits: number): string {
  return n.toFixed(digits);
}

export function renderTop(stats: AdminStats, url: string): string {
  const power = stats.power.map((p) => `${p.device} ${fixed(p.watts, 1)} W (${p.source})`).join(', ') || 'no energy meters';
  const header = ['MODEL', 'APP', 'REQ/S', 'P50 ms', 'P99 ms', 'QUEUE', 'INFL', 'BATCH', 'WATTS', 'J/REQ', 'ERR'];
  const rows = stats.models.map((m) => [
    m.model || '-',
    m.app || '-',
    fixed(m.rate, 2),
    fixed(m.p50Ms, 1),
    fixed(m.p99Ms, 1),
    String(m.queued),
    String(m.inflight),
    fixed(m.meanBatchSize, 1),
    fixed(m.watts, 2),
    fixed(m.joulesPerRequest, 3),
    String(m.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const tracing = stats.tracing.enabled ? `tracing on: ${stats.tracing.kept} kept, ${stats.tracing.dropped} dropped` : 'tracing off';
  return [`weft top — ${url} — last ${stats.windowSeconds} s — power: ${power} — ${tracing}`, line(header), ...rows.map(line), ''].join('\n');
}

async function fetchStats(url: string, token: string | undefined): Promise<AdminStats> {
  let res: Response;
  try {
    res = await fetch(`${url}/admin/stats`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new WeftError(ErrorCode.Internal, `cannot reach ${url}/admin/stats: ${(err as Error).message} (is \`weft serve\` running? pass --url)`, { cause: err });
  }
  if (res.status === 403) throw new WeftError(ErrorCode.Forbidden, `${url}/admin/stats needs the node's admin token: pass --token or set WEFT_ADMIN_TOKEN`);
  if (!res.ok) throw new WeftError(ErrorCode.Internal, `${url}/admin/stats answered ${res.status}`);
  return (await res.json()) as AdminStats;
}

export async function topCommand(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        once: { type: 'boolean', default: false },
        interval: { type: 'string', default: '1' },
        token: { type: 'string', default: process.env.WEFT_ADMIN_TOKEN },
      },
      strict: true,
    }));
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${(err as Error).message} (weft top [--url URL] [--once] [--interval SECONDS] [--token T])`, { cause: err });
  }
  const url = values.url.replace(/\/+$/, '');
  const interval = Number(values.interval);
  if (!Number.isFinite(interval) || interval <= 0) throw new WeftError(ErrorCode.InvalidConfig, `--interval '${values.interval}' is not a positive number of seconds`, { field: 'interval' });
  const tty = process.stdout.isTTY === true;
  for (;;) {
    const frame = renderTop(await fetchStats(url, values.token), url);
    process.stdout.write(tty && !values.once ? CLEAR + frame : frame);
    if (values.once) return;
    await sleep(interval * 1000);
  }
}
