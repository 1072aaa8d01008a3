// Operator endpoints: GET /metrics in the Prometheus exposition format, and GET /admin/stats
// (per model: rate, latency percentiles, queue, batch size, power, joules per request), which
// `weft top` reads.

import { Hono } from 'hono';
import type { Telemetry } from '../../telemetry/index.js';

export function adminRoutes(telemetry: Telemetry): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => c.body(await telemetry.metrics.text(), 200, { 'Content-Type': telemetry.metrics.contentType }));
  app.get('/admin/stats', (c) => c.json(telemetry.stats()));
  return app;
}
