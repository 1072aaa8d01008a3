// The node's HTTP (or HTTPS) server: mounts the protocol routes behind the one auth guard
// (src/auth), enforces the body limit, maps every error to one wire shape, counts in-flight
// requests and drains them on shutdown.

import { Hono, type Context } from 'hono';
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, WeftError } from '../errors.js';
import type { TlsPair } from './tls.js';
import type { Engine } from '../engine/index.js';
import type { Logger, Telemetry } from '../telemetry/index.js';
import { errorResponse, openAiErrorResponse } from './http-errors.js';
import { kserveRoutes } from './kserve/routes.js';
import { adminRoutes } from './admin/routes.js';
import { authMiddleware, keyRoutes, principalOf, type KeyStore, type TenantLimits } from '../auth/index.js';
import { dashboardRoutes, fleetStatus } from '../dashboard/index.js';
import { openAiRoutes } from './openai/index.js';
import { scopeOf, telemetryMiddleware } from './telemetry-middleware.js';
import { bodyLimit, bodyRead, jsonDepthLimit, MAX_JSON_DEPTH, readBody, type BodyBudget } from '../http/index.js';
import type { AppDeployer } from '../apps/index.js';
import type { FleetControl, RequestRouter } from '../fleet/index.js';
import { appRoutes } from './apps/routes.js';
import type { ConnectionLimit } from './connection-limit.js';
import type { StallWatch } from './stalled-answers.js';
import { refuseOtherMethods } from './methods.js';
import { answerInTurn } from './pipelining.js';
import type { Sandbox } from '../sandbox/index.js';

/** How long the node must stay idle while draining before it closes open connections. */
const DRAIN_LINGER_MS = 100;

/** Context key: the fleet router made this request from another node's forward. */
const FORWARDED = 'weft.forwarded';

/**
 * Node's own guard against slow clients: a request whose head and body take longer than
 * `requestTimeout` is answered 408. Node checks only every `connectionsCheckingInterval` (30 s by
 * default), so the check runs often enough for the bound to mean what it says.
 */
function slowClientLimits(requestTimeout: number | undefined): { requestTimeout?: number; headersTimeout?: number; connectionsCheckingInterval?: number } {
  if (requestTimeout === undefined) return {};
  if (requestTimeout === 0) return { requestTimeout: 0 };
  return {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 60_000),
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeout / 10))),
  };
}

export interface ApiServerOptions {
  /** Every model of the node: tensor models behind KServe v2, language models behind the OpenAI routes too. */
  engine: Engine;
  /** Runs app components; app routes are mounted when given. */
  sandbox?: Sandbox;
  log: Logger;
  host: string;
  port: number;
  maxBodySize: number;
  /** The bytes of large request bodies held at once (--max-body-memory), shared with gRPC; unset: no limit. */
  bodyBudget?: BodyBudget;
  /** Largest request head in bytes (Node answers 431 beyond it). */
  maxHeaderSize?: number;
  /** Milliseconds a client may take to send a request, head and body (Node answers 408 beyond it); 0: no limit. */
  requestTimeout?: number;
  /** Answers their clients do not take, shared with gRPC (--send-timeout); unset: no limit. */
  stalls?: StallWatch;
  /** Connections held open at once, shared with gRPC (--max-connections); unset: no limit. */
  connections?: ConnectionLimit;
  /** Deepest nesting of a JSON body. */
  maxJsonDepth?: number;
  version: string;
  telemetry: Telemetry;
  /** Header naming the caller for per-caller telemetry. */
  callerHeader: string;
  /** Apps deployed at run time; mounts the /admin API. */
  deployer?: AppDeployer;
  /** API keys: who may call which API (every route passes this one guard). */
  keys: KeyStore;
  /** Per-tenant rate, concurrency and fair admission of authenticated requests. */
  limits: TenantLimits;
  /** PEM certificate and key: serve HTTPS. */
  tls?: TlsPair | undefined;
  /** The fleet this node answers for at /admin/fleet/... (read per request). */
  fleet?: (() => FleetControl | undefined) | undefined;
  /** Routes model and app requests across the fleet (read per request; absent: all served here). */
  router?: (() => RequestRouter | undefined) | undefined;
  /** This node's name, sent as `x-weft-node` on what it serves. */
  nodeName?: string;
}

export class ApiServer {
  private server: ServerType | undefined;
  private inflight = 0;
  private draining = false;
  private started = false;
  private drainWaiters: Array<() => void> = [];
  readonly app: Hono;

  constructor(private readonly options: ApiServerOptions) {
    this.app = this.buildApp();
  }

  private buildApp(): Hono {
    const { log, maxBodySize } = this.options;
    const app = new Hono();
    app.use('*', async (c, next) => {
      // While draining, requests already on open connections are still served: their clients
      // sent them before they could know. Each such response closes its connection.
      if (this.draining) c.header('Connection', 'close');
      this.inflight++;
      // Read before any middleware wraps the request (the body limit does, for a body without a length).
      c.set(FORWARDED as never, (this.options.router?.()?.isForwarded(c.req.raw) ?? false) as never);
      try {
        await next();
      } finally {
        this.inflight--;
        if (this.inflight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
      }
    });
    app.use('*', telemetryMiddleware(this.options.telemetry, this.options.callerHeader));
    app.use('*', bodyLimit(maxBodySize, this.options.bodyBudget));
    app.use('*', jsonDepthLimit(this.options.maxJsonDepth ?? MAX_JSON_DEPTH));
    // Who may call (auth/): before anything is served here or relayed to another node.
    app.use('*', authMiddleware({ keys: this.options.keys, limits: this.options.limits, tokensUsed: (c) => scopeOf(c)?.tokensUsed() ?? 0, joulesSettled: (c) => scopeOf(c)?.joulesSettled(), identify: (c, tenant) => scopeOf(c)?.identify(tenant), forwarded: (c) => c.get(FORWARDED as never) === true }));
    // The model queues serve tenants in fair turns by the key's tenant (engine/admission.ts).
    app.use('*', async (c, next) => {
      const principal = principalOf(c);
      const scope = scopeOf(c);
      if (principal !== undefined && scope !== undefined) scope.fairShare = this.options.limits.shareOf(principal);
      await next();
    });
    // The fleet seam: a request for a model or app is served here or relayed from another node.
    app.use('*', async (c, next) => {
      const router = this.options.router?.();
      // The auth guard may have read an OpenAI body already (for its model): readBody keeps the bytes.
      const request = router === undefined || !bodyRead(c)
        ? c.req.raw
        : new Request(c.req.raw.url, { method: c.req.method, headers: c.req.raw.headers, body: await readBody(c), signal: c.req.raw.signal });
      const routed = await router?.route(request, scopeOf(c)?.traceparent);
      if (routed !== undefined && 'response' in routed) return routed.response;
      try {
        await next();
      } finally {
        routed?.local();
      }
      if (this.options.nodeName !== undefined && !c.res.headers.has('x-weft-node')) {
        try {
          c.res.headers.set('x-weft-node', this.options.nodeName);
        } catch {
          // Immutable headers (a relayed Response): it names its node already.
        }
      }
    });
    app.route(
      '/',
      kserveRoutes({
        engine: this.options.engine,
        serverName: 'weft',
        serverVersion: this.options.version,
        isReady: () => this.started && !this.draining,
      }),
    );
    // Prometheus scrapes with a key holding the metrics scope (bearer_token in its scrape config).
    const { metrics } = this.options.telemetry;
    app.get('/metrics', async (c) => c.body(await metrics.text(), 200, { 'Content-Type': metrics.contentType }));
    app.route('/', adminRoutes({ deployer: this.options.deployer, telemetry: this.options.telemetry, fleet: this.options.fleet, routing: () => this.options.router?.()?.status() }));
    const fleet = this.options.fleet;
    app.route('/', dashboardRoutes({ ...this.options, fleet: fleet === undefined ? undefined : fleetStatus(fleet), apps: this.options.deployer }));
    app.route('/', keyRoutes(this.options.keys));
    app.route('/', openAiRoutes({ engine: this.options.engine, fleetLanguageModels: () => this.options.router?.()?.languageModels() ?? [] }));
    if (this.options.sandbox) app.route('/', appRoutes(this.options.sandbox));
    // A wrong method on any known path (admin, /metrics, the dashboard too) is a 405 naming the right ones.
    refuseOtherMethods(app);
    // The OpenAI API's paths answer in OpenAI's error shape, whoever refused the request (the
    // guard's 401/403/429, a body limit): the official clients read its message, type and code.
    // An error is this node's answer: it names the node, as every answer does in a fleet.
    const answer = (c: Context, err: unknown) => {
      if (this.options.nodeName !== undefined) c.header('x-weft-node', this.options.nodeName);
      return c.req.path.startsWith('/v1/') ? openAiErrorResponse(err) : errorResponse(err);
    };
    app.notFound((c) => {
      const { status, body } = answer(c, new WeftError(ErrorCode.RouteNotFound, `no route for ${c.req.method} ${c.req.path}`));
      return c.json(body, status as 404);
    });
    app.onError((failure, c) => {
      // A body the client stopped sending (it went away, or --request-timeout cut it off) is not
      // the node's failure: no INTERNAL, no error line.
      const err = c.req.raw.signal.aborted && !(failure instanceof WeftError) ? new WeftError(ErrorCode.Cancelled, 'the client went away before its request was read') : failure;
      const { status, body, headers } = answer(c, err);
      if (status >= 500 && status !== 503) {
        const { body: logged } = errorResponse(err);
        log.error('request failed', { path: c.req.path, code: logged.code, error: logged.error });
      }
      for (const [k, v] of Object.entries(headers)) c.header(k, v);
      return c.json(body, status as 400);
    });
    return app;
  }

  /** A new certificate for new connections (HTTPS only); those open keep theirs. */
  setTls(pair: TlsPair): void {
    if (this.options.tls !== undefined) (this.server as HttpsServer | undefined)?.setSecureContext(pair);
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const { tls, maxHeaderSize, requestTimeout } = this.options;
      const limits = { ...(maxHeaderSize === undefined ? {} : { maxHeaderSize }), ...slowClientLimits(requestTimeout) };
      // With a client CA (mutual TLS) a client without a certificate it signed never gets past the handshake.
      const mutual = tls?.ca === undefined ? {} : { requestCert: true, rejectUnauthorized: true };
      const server = serve({ fetch: this.app.fetch, hostname: this.options.host, port: this.options.port, ...(tls === undefined ? { serverOptions: limits } : { createServer: createHttpsServer, serverOptions: { ...tls, ...mutual, ...limits } }) }, (info) => {
        this.started = true;
        resolve(info);
      });
      server.once('error', reject);
      answerInTurn(server as import('node:http').Server);
      this.options.connections?.guard(server as import('node:net').Server);
      this.options.stalls?.watchConnections(server as import('node:net').Server);
      this.server = server;
    });
  }

  /**
   * Stops accepting connections, serves what arrives on open ones until the node has been idle
   * for a moment (bytes a client already sent may not be parsed yet), then closes them all.
   * Gives up waiting after `timeoutMs`.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const server = this.server as import('node:http').Server | undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.inflight > 0) {
        const idle = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
        await Promise.race([idle, sleep(deadline - Date.now(), undefined, { ref: false })]);
      }
      await sleep(Math.min(DRAIN_LINGER_MS, Math.max(0, deadline - Date.now())), undefined, { ref: false });
      if (this.inflight === 0) break;
    }
    server.closeAllConnections();
    await closed;
  }
}
