// App routes: /apps/{app}/... reaches the app's component handler. The request is passed on as
// method, path (after the app prefix), query, lower-case headers (less the node's API key) and body bytes; the
// component's response goes back as is. Failures carry stable codes (see errors.ts).

import { Hono, type Context } from 'hono';
import { principalOf } from '../../auth/index.js';
import { readBody } from '../../http/index.js';
import type { Sandbox } from '../../sandbox/index.js';
import { scopeOf } from '../telemetry-middleware.js';

/** Hop-by-hop and framing headers the node sets itself. */
const DROPPED = new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive']);

export function appRoutes(sandbox: Sandbox): Hono {
  const app = new Hono();
  const handle = async (c: Context) => {
    const name = c.req.param('app')!;
    const url = new URL(c.req.url);
    const prefix = `/apps/${name}`;
    const rest = url.pathname.slice(url.pathname.indexOf(prefix) + prefix.length);
    const headers: Array<[string, string]> = [];
    // The node's API key is the node's business: a component never sees it. Without keys the
    // header is the app's own (its own auth scheme) and passes.
    const keyConsumed = principalOf(c) !== undefined;
    c.req.raw.headers.forEach((value, key) => {
      if (!(keyConsumed && key === 'authorization')) headers.push([key, value]);
    });
    const body = await readBody(c);
    const scope = scopeOf(c);
    scope?.setApp(name);
    // The component's own span: its time in the sandbox, failures with their code.
    const span = scope?.startSpan('sandbox.invoke', { 'weft.app': name });
    let response: Awaited<ReturnType<Sandbox['handle']>>;
    try {
      response = await sandbox.handle(
        name,
        { method: c.req.method, path: rest === '' ? '/' : rest, query: url.search.replace(/^\?/, ''), headers, body },
        c.req.raw.signal,
        scope,
      );
    } catch (err) {
      span?.end(err);
      throw err;
    }
    span?.end();
    const out = new Headers();
    for (const [k, v] of response.headers) if (!DROPPED.has(k.toLowerCase())) out.append(k, v);
    return new Response(response.body as Uint8Array<ArrayBuffer>, { status: response.status, headers: out });
  };
  app.all('/apps/:app', handle);
  app.all('/apps/:app/*', handle);
  return app;
}
