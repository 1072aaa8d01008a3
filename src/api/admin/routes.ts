// The admin API: deploy (`POST /admin/apps {"ref": …}`), remove (`DELETE /admin/apps/{name}`)
// and list (`GET /admin/apps`) apps on a running node, and the per-model live stats that
// `weft top` reads (`GET /admin/stats`). The server's one guard (src/auth) asks for the admin
// scope on all of /admin.

import { Hono } from 'hono';
import { ErrorCode, WeftError } from '../../errors.js';
import { readJsonBody } from '../../http/index.js';
import type { Telemetry } from '../../telemetry/index.js';
import type { FleetControl, RouterStatus } from '../../fleet/index.js';
import type { AppDeployer } from '../../apps/index.js';
import { fleetRoutes } from './fleet.js';

export interface AdminRoutesOptions {
  /** Mounts the app endpoints when given. */
  deployer: AppDeployer | undefined;
  telemetry: Telemetry;
  /** Mounts /admin/fleet/... when given; read per request (a node joins its fleet once it listens). */
  fleet?: (() => FleetControl | undefined) | undefined;
  /** How this node routes across the fleet, shown by `weft status`. */
  routing?: (() => RouterStatus | undefined) | undefined;
}

export function adminRoutes({ deployer, telemetry, fleet, routing }: AdminRoutesOptions): Hono {
  const app = new Hono();
  app.get('/admin/stats', (c) => c.json(telemetry.stats()));
  if (fleet !== undefined) app.route('/', fleetRoutes(fleet, routing));
  if (deployer === undefined) return app;
  app.get('/admin/apps', (c) => c.json({ apps: deployer.list() }));
  app.post('/admin/apps', async (c) => {
    const body = await readJsonBody(c);
    const ref = (body as { ref?: unknown } | null)?.ref;
    if (typeof ref !== 'string' || ref === '') throw new WeftError(ErrorCode.BadRequest, 'body must be {"ref": "<app folder, layout, store tag or registry reference>"}', { field: 'ref' });
    return c.json({ app: await deployer.deploy(ref) }, 201);
  });
  app.delete('/admin/apps/:name', async (c) => c.json({ removed: await deployer.remove(c.req.param('name')) }));
  return app;
}
