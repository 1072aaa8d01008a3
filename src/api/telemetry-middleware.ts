// Opens a telemetry scope for each API request (not for scrapes, health probes, the dashboard or
// the admin API, which would only add noise), answers with a `traceparent`, and ends the scope with the
// response status and any error.

import type { Context, MiddlewareHandler } from 'hono';
import type { RequestScope, Telemetry } from '../telemetry/index.js';

const UNTRACED = /^\/(?:metrics$|dashboard(?:\/|$)|admin\/|v2\/health\/)/;
const SCOPE = 'weftScope';

export function telemetryMiddleware(telemetry: Telemetry, callerHeader: string): MiddlewareHandler {
  return async (c, next) => {
    if (UNTRACED.test(c.req.path)) return next();
    const scope = telemetry.startRequest({
      method: c.req.method,
      path: c.req.path,
      traceparent: c.req.header('traceparent'),
      tenant: c.req.header(callerHeader),
      authorization: c.req.header('authorization'),
    });
    c.set(SCOPE as never, scope as never);
    if (scope.traceparent !== undefined) c.header('traceparent', scope.traceparent);
    try {
      await next();
    } finally {
      scope.end(c.res.status, c.error);
    }
  };
}

/** The request's telemetry scope, for routes to name the operation, model, tokens and spans. */
export function scopeOf(c: Context): RequestScope | undefined {
  return c.get(SCOPE as never) as RequestScope | undefined;
}
