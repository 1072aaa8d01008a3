// A wrong method on a known path is a 405 with an Allow header naming the methods the path
// serves, not a 404: clients learn that the path exists and what to send it.

import type { Context, Hono } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';

/**
 * Registers, after every route of `app`, a catch-all per path that refuses the other methods.
 * `wrap` formats the error the way the app's other routes do (the OpenAI shape, say).
 */
type Refusal = (c: Context) => Response | Promise<Response>;

export function refuseOtherMethods(app: Hono, wrap: (refuse: Refusal) => Refusal = (refuse) => refuse): void {
  const methods = new Map<string, Set<string>>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue;
    const set = methods.get(r.path) ?? new Set<string>();
    set.add(r.method);
    // Hono answers HEAD with the GET route.
    if (r.method === 'GET') set.add('HEAD');
    methods.set(r.path, set);
  }
  for (const [path, set] of methods) {
    const allow = [...set];
    app.all(
      path,
      wrap((c): Response => {
        throw new WeftError(ErrorCode.MethodNotAllowed, `${c.req.method} is not allowed on ${c.req.path}; it accepts ${allow.join(', ')}`, { allow });
      }),
    );
  }
}
