// The one guard of every API. A request's path says what it needs: nothing (health probes, the
// dashboard's static shell), `metrics`, `admin`, or `infer:NAME` (KServe v2, app routes, and the
// OpenAI routes, where NAME is the body's `model`). With no keys at all auth is off and only
// admin actions are limited, to loopback clients; once any key exists every request needs one.
// Authenticated inference then passes the tenant's rate limit, concurrency cap and fair gate.

import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { ErrorCode, WeftError } from '../errors.js';
import type { KeyStore, Principal } from './keys.js';
import type { TenantLimits } from './limits.js';
import { allows } from './scopes.js';
import { readJsonBody } from '../http/index.js';

/** What a route needs: `open` (no key), a scope, `key` (any valid key), or the OpenAI body's model. */
type Need = { kind: 'open' } | { kind: 'key' } | { kind: 'scope'; scope: string; infer: boolean } | { kind: 'body-model' };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function needOf(method: string, path: string): Need {
  if (/^\/v2\/health\/(?:live|ready)$/.test(path) || path === '/dashboard' || path.startsWith('/dashboard/')) return { kind: 'open' };
  if (path === '/metrics' || path === '/v1/weft/llm') return { kind: 'scope', scope: 'metrics', infer: false };
  if (path.startsWith('/admin/') || path === '/admin' || path.startsWith('/v2/repository/') || path === '/v2/repository') return { kind: 'scope', scope: 'admin', infer: false };
  let m = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(\/infer)?(?:\/[^/]*)?$/.exec(path);
  if (m) return { kind: 'scope', scope: `infer:${decode(m[1]!)}`, infer: m[2] !== undefined };
  m = /^\/apps\/([^/]+)(?:\/|$)/.exec(path);
  if (m) return { kind: 'scope', scope: `infer:${decode(m[1]!)}`, infer: true };
  m = /^\/v1\/models\/([^/]+)$/.exec(path);
  if (m) return { kind: 'scope', scope: `infer:${decode(m[1]!)}`, infer: false };
  if (method === 'POST' && /^\/v1\/(?:chat\/completions|completions|embeddings)$/.test(path)) return { kind: 'body-model' };
  return { kind: 'key' };
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** The OpenAI request's model, read from the body (Hono keeps the text for the route). */
async function bodyModel(c: Context): Promise<string | undefined> {
  try {
    const body = (await readJsonBody(c)) as { model?: unknown } | null;
    return typeof body?.model === 'string' ? body.model : undefined;
  } catch {
    return undefined; // the route answers the malformed body with its own 400
  }
}

/**
 * A streamed answer (server-sent events) keeps its admission slot until its last event is sent
 * or the client goes; any other answer gives it back now.
 */
function holdUntilStreamEnds(c: Context, release: () => void): void {
  const body = c.res.body;
  if (body === null || !(c.res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return release();
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  c.res = new Response(stream, c.res);
}

/**
 * The one check every transport makes (HTTP here, gRPC in api/grpc): the caller's
 * `Authorization` value against the keys, for `scope` (undefined: any valid key). Undefined when
 * auth is off; throws 401/403 otherwise. Without keys, admin actions are for loopback callers only.
 */
export function authorize(keys: KeyStore, authorization: string | undefined, remoteAddress: () => string | undefined, scope: string | undefined): Principal | undefined {
  if (!keys.enabled()) {
    if (scope === 'admin' && !isLoopback(remoteAddress())) {
      throw new WeftError(ErrorCode.Forbidden, 'without API keys admin actions are answered for loopback clients only: create a key with `weft apikey create --tenant T --scope admin`');
    }
    return undefined;
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (m === null) throw new WeftError(ErrorCode.Unauthorized, 'this API needs an API key: send "Authorization: Bearer <key>" (keys are made with `weft apikey create`)');
  const principal = keys.authenticate(m[1]!);
  if (principal === undefined) throw new WeftError(ErrorCode.Unauthorized, 'the API key is unknown, revoked or expired');
  // `admin` may do anything: it can deploy whatever it likes anyway.
  if (scope !== undefined && !principal.scopes.includes('admin') && !allows(principal.scopes, scope)) {
    throw new WeftError(ErrorCode.Forbidden, `key ${principal.id} (tenant '${principal.tenant}') lacks the scope '${scope}'`, { field: 'scope' });
  }
  return principal;
}

const PRINCIPAL = 'weft.principal';

/** The key the auth middleware let this request in with; undefined when auth is off or the route is open. */
export function principalOf(c: Context): Principal | undefined {
  return c.get(PRINCIPAL as never) as Principal | undefined;
}

export interface AuthOptions {
  keys: KeyStore;
  limits: TenantLimits;
  /** Language-model tokens the request used so far (its telemetry scope counts them). */
  tokensUsed?: (c: Context) => number;
  /** The joules the request's work was attributed, once its meter intervals have closed. */
  joulesSettled?: (c: Context) => Promise<number> | undefined;
  /** With keys: tells telemetry who the caller is (the key's tenant, or null when refused). */
  identify?: (c: Context, tenant: string | null) => void;
  /**
   * Whether a request was forwarded by another node of the fleet (the router's own mark, not a
   * header a client could send): its rate was counted where it entered the fleet.
   */
  forwarded?: (c: Context) => boolean;
}

export function authMiddleware({ keys, limits, tokensUsed, joulesSettled, identify, forwarded }: AuthOptions): MiddlewareHandler {
  return async (c, next) => {
    const need = needOf(c.req.method, c.req.path);
    if (need.kind === 'open') return next();
    let scope: string | undefined;
    if (need.kind === 'scope') scope = need.scope;
    else if (need.kind === 'body-model' && keys.enabled()) {
      const model = await bodyModel(c);
      if (model !== undefined) scope = `infer:${model}`;
    }
    let principal: Principal | undefined;
    try {
      principal = authorize(keys, c.req.header('authorization'), () => getConnInfo(c).remote.address, scope);
    } catch (err) {
      if (keys.enabled()) identify?.(c, null);
      throw err;
    }
    if (principal === undefined) return next();
    // Counted as the key's tenant, whatever caller header it sent.
    identify?.(c, principal.tenant);
    c.set(PRINCIPAL as never, principal as never);
    if (forwarded?.(c) !== true) await limits.takeRate(principal);
    const infer = (need.kind === 'scope' && need.infer) || need.kind === 'body-model';
    if (!infer) return next();
    if (need.kind === 'body-model') await limits.checkTokens(principal);
    await limits.checkMonthly(principal, need.kind === 'body-model');
    // A forwarded request is in flight where it entered the fleet: counted there, not again here.
    const admitted = await limits.admit(principal, c.req.raw.signal, forwarded?.(c) !== true);
    // Once, when the answer is done (a stream's last event) or the client has gone. The listener
    // is taken off again: left on the request's signal it kept every request's context, body
    // included, alive for good (a node with keys grew ~170 KB per 175 KB request).
    const signal = c.req.raw.signal;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', release);
      admitted();
      void limits.chargeTokens(principal, tokensUsed?.(c) ?? 0);
      void joulesSettled?.(c)?.then((joules) => limits.chargeJoules(principal, joules));
    };
    signal.addEventListener('abort', release, { once: true });
    try {
      await next();
    } catch (err) {
      release();
      throw err;
    }
    holdUntilStreamEnds(c, release);
  };
}

