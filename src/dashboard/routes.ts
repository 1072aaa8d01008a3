// The dashboard's routes: the page shell and its built assets (GET /dashboard, /dashboard/*),
// and the data behind the admin scope like all of /admin (src/auth) — the snapshot (GET /admin/dashboard), its
// live feed as server-sent events (GET /admin/dashboard/events), and the kept traces
// (GET /admin/traces, GET /admin/traces/{traceId}).

import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ErrorCode, WeftError } from '../errors.js';
import { DashboardFeed, type DashboardSources } from './feed.js';

/** About once a second, as `weft top` redraws. */
export const FEED_INTERVAL_MS = 1000;

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export interface DashboardRoutesOptions extends DashboardSources {
  /** Milliseconds between feed events; tests may shorten it. */
  intervalMs?: number;
}

/** The built page lives beside this module in dist/ (npm run build: scripts/build-dashboard.ts). */
const WEB = new URL('./web/', import.meta.url);
const cache = new Map<string, Buffer>();

async function asset(name: string): Promise<Buffer> {
  let body = cache.get(name);
  if (body === undefined) {
    try {
      body = await readFile(new URL(name, WEB));
    } catch (err) {
      throw new WeftError(ErrorCode.Internal, `the dashboard is not built (${name} is missing): run npm run build`, { cause: err });
    }
    cache.set(name, body);
  }
  return body;
}

export function dashboardRoutes(options: DashboardRoutesOptions): Hono {
  const feed = new DashboardFeed(options);
  const intervalMs = options.intervalMs ?? FEED_INTERVAL_MS;
  const app = new Hono();
  // The shell and its scripts hold no figures, and a browser cannot send a Bearer token when it
  // navigates; the page sends the token (from #token=… in its address) with every data request.
  app.get('/dashboard', async (c) => c.body(new Uint8Array(await asset('index.html')), 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }));
  app.get('/dashboard/:file', async (c) => {
    const type = ASSETS[c.req.param('file')];
    if (type === undefined) throw new WeftError(ErrorCode.RouteNotFound, `no dashboard asset '${c.req.param('file')}'`);
    return c.body(new Uint8Array(await asset(c.req.param('file'))), 200, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
  });

  app.get('/admin/dashboard', async (c) => c.json(await feed.snapshot()));
  app.get('/admin/dashboard/events', (c) =>
    streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      while (open) {
        await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(await feed.snapshot()) });
        await stream.sleep(intervalMs);
      }
    }),
  );
  app.get('/admin/traces', (c) => {
    const kept = options.telemetry.keptTraces;
    return c.json({ enabled: kept !== undefined, capacity: kept?.capacity ?? 0, traces: kept?.list() ?? [] });
  });
  app.get('/admin/traces/:traceId', (c) => {
    const traceId = c.req.param('traceId');
    const kept = options.telemetry.keptTraces;
    if (kept === undefined) throw new WeftError(ErrorCode.TraceNotFound, 'tracing is off on this node: set OTEL_TRACES_EXPORTER=otlp to keep traces', { field: 'traceId' });
    const trace = kept.get(traceId);
    if (trace === undefined) throw new WeftError(ErrorCode.TraceNotFound, `no kept trace '${traceId}' (the node remembers the last ${kept.capacity} kept traces)`, { field: 'traceId' });
    return c.json(trace);
  });
  return app;
}
