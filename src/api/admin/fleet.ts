// The fleet's admin endpoints (`/admin/fleet/...`): deploy, undeploy and status of apps in the
// fleet, and its nodes' inventory. Any node answers for the whole fleet; `weft deploy`,
// `weft undeploy`, `weft status` and `weft nodes` call these. Guarded like the rest of /admin.

import { Hono } from 'hono';
import { ErrorCode, WeftError } from '../../errors.js';
import { readJsonBody } from '../../http/index.js';
import { parseDeployRequest, type FleetControl, type RouterStatus } from '../../fleet/index.js';

/** `current` and `routing` are read per request: a node joins its fleet once it listens. */
export function fleetRoutes(current: () => FleetControl | undefined, routing: () => RouterStatus | undefined = () => undefined): Hono {
  const app = new Hono();
  const fleet = (): FleetControl => {
    const f = current();
    if (f === undefined) throw new WeftError(ErrorCode.FleetUnavailable, 'this node is still joining its fleet; try again in a moment', { retryAfterSeconds: 1 });
    return f;
  };
  app.get('/admin/fleet/nodes', (c) => c.json(fleet().nodes()));
  // With how this node routes requests (weights, spill-over, nodes it skips): null alone.
  app.get('/admin/fleet/apps', (c) => c.json({ apps: fleet().apps(), routing: routing() ?? null }));
  app.get('/admin/fleet/apps/:name', (c) => c.json({ app: fleet().status(c.req.param('name')) }));
  app.post('/admin/fleet/apps', async (c) => {
    const body = await readJsonBody(c);
    const result = await fleet().deploy(parseDeployRequest(body));
    return c.json(result, result.created ? 201 : 200);
  });
  app.delete('/admin/fleet/apps/:name', async (c) => {
    await fleet().undeploy(c.req.param('name'));
    return c.json({ removed: c.req.param('name') });
  });
  return app;
}
