// The server's side of a step, read from a Weft node's Prometheus endpoint before and after it:
// mean queue wait and server time per request, mean batch size, and joules per request (the
// energy attributed to requests, idle power left out, labelled measured or estimated).

import type { Pool } from 'undici';

export interface ServerBreakdown {
  /** Mean time a request waited in a model queue, ms. */
  queueMs?: number;
  /** Mean time the server spent on a request, ms (gen_ai.server.request.duration). */
  serverMs?: number;
  /** Mean rows per executed batch. */
  batchSize?: number;
  /** Energy per request in joules. */
  joulesPerRequest?: number;
  /** `measured` or `estimated`. */
  energySource?: string;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

export async function scrape(pool: Pool): Promise<Sample[] | undefined> {
  try {
    const res = await pool.request({ path: '/metrics', method: 'GET' });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    return parsePrometheus(await res.body.text());
  } catch {
    return undefined;
  }
}

function total(samples: Sample[], name: string, keep: (labels: Record<string, string>) => boolean = () => true): number | undefined {
  const matching = samples.filter((s) => s.name === name && keep(s.labels));
  return matching.length === 0 ? undefined : matching.reduce((n, s) => n + s.value, 0);
}

function increase(before: Sample[], after: Sample[], name: string, keep?: (labels: Record<string, string>) => boolean): number | undefined {
  const a = total(after, name, keep);
  return a === undefined ? undefined : a - (total(before, name, keep) ?? 0);
}

function histogramMean(before: Sample[], after: Sample[], family: string, scale: number): number | undefined {
  const sum = increase(before, after, `${family}_sum`);
  const count = increase(before, after, `${family}_count`);
  return sum === undefined || !count ? undefined : (sum / count) * scale;
}

/** The server's view of what happened between two scrapes; per-request energy uses the server's own request count. */
export function breakdown(before: Sample[], after: Sample[]): ServerBreakdown {
  const out: ServerBreakdown = {};
  const queue = histogramMean(before, after, 'weft_queue_time_seconds', 1000);
  const server = histogramMean(before, after, 'gen_ai_server_request_duration_seconds', 1000);
  const batch = histogramMean(before, after, 'weft_batch_size', 1);
  if (queue !== undefined) out.queueMs = queue;
  if (server !== undefined) out.serverMs = server;
  if (batch !== undefined) out.batchSize = batch;
  const sources = new Set(after.filter((s) => s.name === 'weft_energy_joules_total').map((s) => s.labels.source ?? 'unknown'));
  const joules = increase(before, after, 'weft_energy_joules_total', (l) => l.model !== '_idle');
  const requests = increase(before, after, 'gen_ai_server_request_duration_seconds_count');
  if (joules !== undefined && requests) {
    out.joulesPerRequest = joules / requests;
    out.energySource = [...sources].sort().join('+');
  }
  return out;
}
