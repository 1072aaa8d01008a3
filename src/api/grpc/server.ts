// The Open Inference Protocol's gRPC transport: `inference.GRPCInferenceService` on its own port
// (--grpc-port), served with @grpc/grpc-js from proto/grpc_predict_v2.proto. It calls the engine
// exactly as the HTTP routes do (validation, admission, priorities, batching, telemetry), takes a
// call's deadline as its queue timeout and a cancelled call out of the queue, asks the fleet's
// router first as HTTP does (forward.ts), and drains with the HTTP server on shutdown.

import {
  experimental,
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { ErrorCode, toWeftError, WeftError } from '../../errors.js';
import { tensorsByName, type Engine } from '../../engine/index.js';
import type { Logger, Telemetry } from '../../telemetry/index.js';
import { authorize, type KeyStore, type Principal, type TenantLimits } from '../../auth/index.js';
import { httpStatus } from '../http-errors.js';
import { LARGE_BODY_BYTES, type BodyBudget } from '../../http/index.js';
import { EXTENSIONS, modelMetadata, parseVersion, repositoryIndex } from '../kserve/service.js';
import { NODE_HEADER, type RequestRouter } from '../../fleet/index.js';
import type { ConnectionLimit } from '../connection-limit.js';
import type { StallWatch } from '../stalled-answers.js';
import type { TlsPair } from '../tls.js';
import { decodeModelInfer, encodeModelInfer } from './codec.js';
import { assembleMessagesWhole } from './message-assembly.js';
import { holdCallsTo, meterIncomingMessages, type CallLimits } from './message-intake.js';
import { inferRequestOverHttp, modelInferFromHttp, modelInfoRequestOverHttp, modelMetadataFromHttp, modelReadyFromHttp } from './forward.js';
import { serviceError } from './status.js';
import type { ModelInferRequest, ModelInferResponse, ModelRef, RepositoryIndexRequest, RepositoryModelRequest } from './wire.js';

/** The proto file, beside src/ and dist/ alike (the package ships it). */
export const PROTO_PATH = fileURLToPath(new URL('../../../proto/grpc_predict_v2.proto', import.meta.url));

/** What wire.ts describes: field names as in the proto, 64-bit integers as strings, empty repeated fields and maps present. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false, arrays: true, objects: true, oneofs: true } as const;

const SERVICE = 'inference.GRPCInferenceService';
const INFER_PATH = `/${SERVICE}/ModelInfer`;

export interface GrpcServerOptions {
  /** Every model kind: the repository extension lists, loads and unloads language models too. */
  engine: Engine;
  telemetry: Telemetry;
  log: Logger;
  version: string;
  /** Metadata key naming the caller for per-caller telemetry (the HTTP header's name). */
  callerHeader: string;
  /** The same keys and tenant limits as HTTP (auth/): a call carries its key as `authorization` metadata. */
  keys: KeyStore;
  limits: TenantLimits;
  /** Largest request message accepted (--max-body-size). */
  maxMessageSize: number;
  /** Calls open at once on one connection (--grpc-max-streams); 0 or undefined: no limit. */
  maxStreams?: number | undefined;
  /** The bytes of large requests held at once, shared with HTTP (--max-body-memory); unset: no limit. */
  bodyBudget?: BodyBudget | undefined;
  /** Connections held open at once, shared with HTTP (--max-connections); unset: no limit. */
  connections?: ConnectionLimit | undefined;
  /** Answers their clients do not take, shared with HTTP (--send-timeout); unset: no limit. */
  stalls?: StallWatch | undefined;
  /** Milliseconds a client may take to send its whole request (--request-timeout); 0: no limit. */
  requestTimeout?: number | undefined;
  /** This node's name, sent as `x-weft-node` metadata on what it answers (a fleet's route). */
  nodeName?: string | undefined;
  /** The HTTP API's certificate (and client CA): gRPC is served over TLS whenever HTTP is. */
  tls?: TlsPair | undefined;
  /** The fleet's router, as the HTTP server asks it: a model held elsewhere is served from there. */
  router?: (() => RequestRouter | undefined) | undefined;
}

type Handler<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res;

/**
 * The certificate (and client CA) grpc-js serves, replaceable while it listens: the renewal
 * api/tls.ts `watchTls` picks up reaches new gRPC connections as it reaches HTTPS ones.
 */
class ReloadableCertificates implements experimental.CertificateProvider {
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();

  constructor(private pair: TlsPair) {}

  set(pair: TlsPair): void {
    this.pair = pair;
    for (const listener of this.identityListeners) listener(this.identity());
    for (const listener of this.caListeners) listener(this.ca());
  }

  private identity(): experimental.IdentityCertificateUpdate {
    return { certificate: this.pair.cert, privateKey: this.pair.key };
  }

  private ca(): experimental.CaCertificateUpdate | null {
    return this.pair.ca === undefined ? null : { caCertificate: this.pair.ca };
  }

  // grpc-js adds its server's watcher after this listener: the first update must come later, as
  // it does from a provider that reads files.
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    setImmediate(() => this.identityListeners.has(listener) && listener(this.identity()));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    setImmediate(() => this.caListeners.has(listener) && listener(this.ca()));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
}

export class GrpcServer {
  private readonly server: Server;
  private started = false;
  private draining = false;
  /** Request messages count against the body budget as they arrive (message-intake.ts). */
  private readonly meteredOnArrival: boolean;
  private readonly certificates: ReloadableCertificates | undefined;
  /** The socket server of --grpc-port, once listening. */
  private listener: NetServer | undefined;

  constructor(private readonly options: GrpcServerOptions) {
    this.certificates = options.tls === undefined ? undefined : new ReloadableCertificates(options.tls);
    const unchanged = assembleMessagesWhole();
    if (unchanged !== undefined) options.log.warn('gRPC messages are assembled as grpc-js does (a list of chunks): large ones may leave memory fragmented', { reason: unchanged });
    const unmetered = meterIncomingMessages();
    if (unmetered !== undefined) options.log.warn('gRPC messages count against --max-body-memory only once read whole, and --send-timeout does not apply to gRPC calls', { reason: unmetered });
    this.meteredOnArrival = unmetered === undefined;
    const interceptors = options.requestTimeout ? [requestDeadline(options.requestTimeout)] : [];
    // A client queues calls past maxStreams (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS): each open call costs the node memory.
    const streams = options.maxStreams === undefined || options.maxStreams === 0 ? {} : { 'grpc.max_concurrent_streams': options.maxStreams };
    this.server = new Server({ 'grpc.max_receive_message_length': options.maxMessageSize, 'grpc.max_send_message_length': -1, ...streams, interceptors });
    const definition = loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
    this.server.addService(tolerantDecoding(definition[SERVICE] as ServiceDefinition, { budget: options.bodyBudget, stalls: options.stalls }), this.handlers());
  }

  /**
   * Binds host:port; resolves with the port bound (port 0 picks a free one). The socket server is
   * the node's own, each connection handed to grpc-js once --max-connections has let it in
   * (grpc-js has no bound of its own on connections).
   */
  listen(host: string, port: number): Promise<number> {
    // Keys travel as metadata: never in clear on a node that serves HTTPS.
    const certs = this.certificates;
    // grpc-js 1.14 (pinned) hands this function's first provider the identity and its second
    // the client CA, whatever its parameters are named; one provider serves both.
    const mutual = this.options.tls?.ca !== undefined;
    const credentials = certs === undefined ? ServerCredentials.createInsecure() : experimental.createCertificateProviderServerCredentials(certs, mutual ? certs : null, mutual);
    const injector = this.server.createConnectionInjector(credentials);
    const connections = this.options.connections;
    const listener = createServer((socket) => {
      if (connections === undefined || connections.admit(socket)) injector.injectConnection(socket);
    });
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', (err) => reject(new Error(`gRPC could not listen on ${host}:${port} (--grpc-port; 0 turns gRPC off): ${err.message}`, { cause: err })));
      listener.listen(port, host, () => {
        this.started = true;
        resolve((listener.address() as AddressInfo).port);
      });
    });
  }

  /** A renewed certificate (and client CA) for the connections made from now on. */
  setTls(pair: TlsPair): void {
    this.certificates?.set(pair);
  }

  /** Refuses new calls, lets those in flight finish for up to `timeoutMs`, then cuts the rest. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (!this.started) return;
    this.listener?.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private handlers(): UntypedServiceImplementation {
    const { engine, version } = this.options;
    return {
      ServerLive: this.unary(() => ({ live: true })),
      ServerReady: this.unary(() => ({ ready: this.started && !this.draining })),
      ModelReady: this.unary<ModelRef, object>(async (call) => {
        this.authorize(call, `infer:${call.request.name ?? ''}`);
        const elsewhere = await this.viaFleet(call, true);
        if (elsewhere !== undefined) return { ready: await modelReadyFromHttp(elsewhere) };
        return { ready: engine.readiness(call.request.name ?? '', parseVersion(call.request.version)).ready };
      }),
      ServerMetadata: this.unary((call) => {
        this.authorize(call, undefined);
        return { name: 'weft', version, extensions: EXTENSIONS };
      }),
      ModelMetadata: this.unary<ModelRef, object>(async (call) => {
        this.authorize(call, `infer:${call.request.name ?? ''}`);
        const elsewhere = await this.viaFleet(call, false);
        if (elsewhere !== undefined) return modelMetadataFromHttp(elsewhere);
        return modelMetadata(engine, call.request.name ?? '', parseVersion(call.request.version));
      }),
      ModelInfer: this.unary<ModelInferRequest, ModelInferResponse>((call) => this.infer(call)),
      RepositoryIndex: this.unary<RepositoryIndexRequest, object>((call) => {
        this.authorize(call, 'admin');
        return { models: repositoryIndex(engine, call.request.ready === true) };
      }),
      RepositoryModelLoad: this.unary<RepositoryModelRequest, object>(async (call) => {
        this.authorize(call, 'admin');
        await engine.load(call.request.model_name ?? '');
        return {};
      }),
      RepositoryModelUnload: this.unary<RepositoryModelRequest, object>(async (call) => {
        this.authorize(call, 'admin');
        await engine.unload(call.request.model_name ?? '');
        return {};
      }),
    };
  }

  private unary<Req, Res>(handler: Handler<Req, Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      let release: (() => void) | undefined;
      Promise.resolve()
        .then(() => {
          const request = call.request as { [UNDECODABLE]?: string; [MESSAGE_BYTES]?: number };
          if (request[UNDECODABLE] !== undefined) throw new WeftError(ErrorCode.BadRequest, request[UNDECODABLE]);
          // Counted as it arrived (message-intake.ts), or else here, now that grpc-js has read it
          // whole: waiting would hold it, so one that does not fit is refused.
          const bytes = request[MESSAGE_BYTES] ?? 0;
          if (!this.meteredOnArrival && bytes >= LARGE_BODY_BYTES) release = this.options.bodyBudget?.reserve(bytes);
          return handler(call);
        })
        .finally(() => release?.())
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            const e = toWeftError(err);
            const status = httpStatus(e.code);
            if (status >= 500 && status !== 503) this.options.log.error('gRPC call failed', { path: call.getPath(), code: e.code, error: e.message });
            callback(serviceError(e));
          },
        );
    };
  }

  private async infer(call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>): Promise<ModelInferResponse> {
    const { engine, telemetry, callerHeader } = this.options;
    const scope = telemetry.startRequest({
      method: 'POST',
      path: INFER_PATH,
      traceparent: first(call.metadata, 'traceparent'),
      tenant: first(call.metadata, callerHeader),
      authorization: first(call.metadata, 'authorization'),
    });
    // Sent with the answer: by then it names the node that served the call, as `x-weft-node` does over HTTP.
    const headers = new Metadata();
    if (scope.traceparent !== undefined) headers.set('traceparent', scope.traceparent);
    let servedBy = this.options.nodeName;
    // A call cancelled or past its deadline leaves the queue rather than run for nobody.
    const abort = new AbortController();
    const cancelled = () => abort.abort();
    call.once('cancelled', cancelled);
    let failure: unknown;
    let release: (() => void) | undefined;
    let servedHere: (() => void) | undefined;
    try {
      scope.setOperation('infer', call.request.model_name ?? '');
      // The key, the tenant's rate, its monthly budget and its turn at the fair gate, as over HTTP.
      let principal: Principal | undefined;
      try {
        principal = this.authorize(call, `infer:${call.request.model_name ?? ''}`);
      } catch (err) {
        if (this.options.keys.enabled()) scope.identify(null);
        throw err;
      }
      if (principal !== undefined) {
        scope.identify(principal.tenant);
        scope.fairShare = this.options.limits.shareOf(principal);
        await this.options.limits.takeRate(principal);
        await this.options.limits.checkMonthly(principal, false);
        release = await this.options.limits.admit(principal, abort.signal);
        void scope.joulesSettled().then((joules) => this.options.limits.chargeJoules(principal, joules));
      }
      const req = decodeModelInfer(call.request);
      const router = this.options.router?.();
      if (router !== undefined) {
        const deadline = call.getDeadline();
        const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
        const request = inferRequestOverHttp(req, {
          authorization: first(call.metadata, 'authorization'),
          traceparent: scope.traceparent,
          caller: { name: callerHeader, value: first(call.metadata, callerHeader) },
          deadline: Number.isFinite(deadlineMs) ? deadlineMs : undefined,
        });
        const routed = await router.route(request, scope.traceparent);
        if ('response' in routed) {
          servedBy = routed.response.headers.get(NODE_HEADER) ?? servedBy;
          return await modelInferFromHttp(routed.response, req);
        }
        servedHere = routed.local;
      }
      const result = await engine.infer(req.model, parseVersion(req.version), {
        inputs: tensorsByName(req.inputs),
        outputs: req.outputs,
        priority: req.priority,
        timeoutMs: queueTimeout(req.timeoutUs, call.getDeadline()),
        signal: abort.signal,
        scope,
      });
      return encodeModelInfer({
        model: req.model,
        version: String(result.version),
        id: req.id,
        batchSize: result.batchSize,
        batchRequests: result.batchRequests,
        outputs: Object.entries(result.outputs),
        raw: req.rawOutput,
      });
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      // grpc-js says 'cancelled' after every answer too: aborting then would only cost a DOMException.
      call.off('cancelled', cancelled);
      if (servedBy !== undefined) headers.set(NODE_HEADER, servedBy);
      call.sendMetadata(headers);
      servedHere?.();
      release?.();
      scope.end(failure === undefined ? 200 : httpStatus(toWeftError(failure).code), failure);
    }
  }

  /** A model another node of the fleet serves: its metadata or readiness answer from there; undefined when served here. */
  private async viaFleet(call: ServerUnaryCall<ModelRef, object>, ready: boolean): Promise<Response | undefined> {
    const router = this.options.router?.();
    if (router === undefined) return undefined;
    const routed = await router.route(modelInfoRequestOverHttp(call.request.name ?? '', call.request.version ?? '', ready, first(call.metadata, 'authorization')));
    if ('response' in routed) return routed.response;
    routed.local();
    return undefined;
  }

  /** The HTTP guard's own check (auth/authorize): 401/403 become UNAUTHENTICATED/PERMISSION_DENIED. */
  private authorize(call: ServerUnaryCall<unknown, unknown>, scope: string | undefined): Principal | undefined {
    return authorize(this.options.keys, first(call.metadata, 'authorization'), () => peerAddress(call.getPeer()), scope);
  }
}

/** Marks a request message protobuf could not decode: `unary` answers it INVALID_ARGUMENT (grpc-js would say INTERNAL). */
const UNDECODABLE = Symbol('undecodable');

/** The size of a request message, in bytes, as it arrived: `unary` counts a large one against the body budget. */
const MESSAGE_BYTES = Symbol('messageBytes');

/**
 * The service with request decoders that never throw: an undecodable message reaches `unary`
 * marked, with the reason; a decoded one carries its size.
 */
function tolerantDecoding(service: ServiceDefinition, limits: CallLimits): ServiceDefinition {
  const methods = Object.entries(service).map(([name, method]) => {
    const requestDeserialize = (bytes: Buffer): object => {
      try {
        return Object.assign(method.requestDeserialize(bytes) as object, { [MESSAGE_BYTES]: bytes.length });
      } catch (err) {
        return { [UNDECODABLE]: `the request is not a valid ${name} message: ${(err as Error).message}` };
      }
    };
    holdCallsTo(requestDeserialize, limits);
    return [name, { ...method, requestDeserialize }] as const;
  });
  return Object.fromEntries(methods) as ServiceDefinition;
}

/**
 * Ends a call whose request has not wholly arrived (the client's half-close) within `ms`, as
 * HTTP answers a slow body 408: grpc-js itself would hold a half-sent message as long as the
 * client keeps its connection.
 */
function requestDeadline(ms: number): ServerInterceptor {
  return (_method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => clearTimeout(timer);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => call.sendStatus(serviceError(new WeftError(ErrorCode.RequestTimeout, `the request did not arrive whole within ${ms} ms (--request-timeout)`))), ms);
        next({
          onReceiveHalfClose: (halfClose) => {
            done();
            halfClose();
          },
          onCancel: done,
        });
      },
      sendStatus: (status, next) => {
        done();
        next(status);
      },
    });
  };
}

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key.toLowerCase())[0];
  return typeof value === 'string' ? value : undefined;
}

/** The tighter of the `timeout` parameter and the call's deadline, in ms; undefined takes the model's default. */
function queueTimeout(timeoutUs: number | undefined, deadline: Date | number): number | undefined {
  const fromParameter = timeoutUs === undefined || timeoutUs === 0 ? Infinity : timeoutUs / 1000;
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const fromDeadline = Number.isFinite(deadlineMs) ? Math.max(1, deadlineMs - Date.now()) : Infinity;
  const ms = Math.min(fromParameter, fromDeadline);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The address in grpc-js's peer string (`1.2.3.4:port`, `::1:port`). */
function peerAddress(peer: string): string {
  const colon = peer.lastIndexOf(':');
  return (colon > 0 ? peer.slice(0, colon) : peer).replace(/^\[|\]$/g, '');
}
