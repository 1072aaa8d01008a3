// The fleet router: the one seam between the HTTP API and the fleet. Before a protocol route
// runs, the API asks `route(request)`: serve here (a local replica with room, or nothing better
// anywhere) or a Response relayed from another node over NATS request-reply. The other half,
// `serve`, answers this node's `infer` subject by replaying forwarded requests into the same
// HTTP handler, so every protocol (KServe JSON and binary, OpenAI incl. streams, app routes)
// works through a forward unchanged.

import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { ErrorCode, WeftError } from '../../errors.js';
import type { Logger } from '../../telemetry/index.js';
import { FLEET_VERSION, Subjects } from '../namespace.js';
import type { NodeRecord } from '../messages.js';
import { Observations, ReplicaChooser, type RouteWeights, type Target } from './choose.js';
import { announce, EndpointCounters } from './micro.js';
import { ReplayedRequest } from './replayed-request.js';
import { wholeBody } from './response-body.js';
import { ReplyInboxes, type ReplyQueue } from './replies.js';
import { cancelSchema, chunkSchema, frame, FRAME_OVERHEAD, FrameError, openSchema, replySchema, streamSchema, unframe, type OpenFrame } from './wire.js';

/** Marks a forwarded request: its receiver serves it itself, never forwards it again. */
export const FORWARDED_HEADER = 'x-weft-forwarded';
/** Names the node that served a response. */
export const NODE_HEADER = 'x-weft-node';
/** Epoch ms after which the caller no longer waits (set by the first node when absent). */
export const DEADLINE_HEADER = 'x-weft-deadline';
export const PRIORITY_HEADER = 'x-weft-priority';

/** Node's timers take at most 2^31-1 ms; a later deadline would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const DROPPED = new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive', 'host']);
/** Headers a replay sets itself, whatever the frame carries. */
const REPLAY_SETS = new Set([FORWARDED_HEADER, DEADLINE_HEADER, 'content-length']);

export type Routed = { response: Response } | { local: () => void };

/** What this node's router does, for `weft status` (GET /admin/fleet/apps). */
export interface RouterStatus {
  node: string;
  site: string;
  weights: RouteWeights;
  spillQueue: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** Replicas' nodes this router skips after a failed forward, until they answer again. */
  down: Array<{ node: string; until: number }>;
}

/** What the API server needs from a router. */
export interface RequestRouter {
  route(request: Request, traceparent?: string): Promise<Routed>;
  status(): RouterStatus;
  /** Language models other nodes of the fleet serve (requests for them are forwarded there). */
  languageModels(): string[];
  /** Whether this node's router made the request from another node's forward (not a header a client can send). */
  isForwarded(request: Request): boolean;
}

export interface RouterOptions {
  nc: NatsConnection;
  node: string;
  site: string;
  /** Live node records of the fleet. */
  nodes: () => ReadonlyMap<string, NodeRecord>;
  /** Does this node itself serve the target now? */
  local: (target: Target) => boolean;
  /** The node's own HTTP handler, for forwarded requests. */
  handler: (request: Request) => Response | Promise<Response>;
  weights: RouteWeights;
  /** Local in-flight requests for one target above which a less loaded replica elsewhere is used. */
  spillQueue: number;
  /** A forward with no word from its node for this long is given up (and retried elsewhere). */
  idleTimeoutMs: number;
  /** Deadline given to requests that carry none. */
  requestTimeoutMs: number;
  callerHeader: string;
  /** Weft's version, as the node's micro service announces it. */
  version: string;
  log: Logger;
}

class Retryable extends Error {}

/** One forward whose response is awaited. */
interface InFlight {
  node: string;
  sub: ReplyQueue;
  deadline: number;
  /** Is another replica left to retry a 429, 503 or 404 on? `fresh`: read the records again first. */
  more: (fresh: boolean) => boolean;
  started: number;
  finish: (ms: number | undefined) => void;
  down: (why: string | WeftError) => never;
  cancel: () => void;
}

function deadlineError(when: string): WeftError {
  return new WeftError(ErrorCode.DeadlineExceeded, `the request's deadline (${DEADLINE_HEADER}) passed ${when}`);
}

const INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/;
const APP = /^\/apps\/([^/]+)(?:\/|$)/;
const OPENAI = /^\/v1\/(?:chat\/completions|completions|embeddings)$/;
/** KServe metadata and readiness of a model (or one version): answered by a replica too. */
const MODEL_INFO = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(?:\/ready)?$/;

/**
 * Whether a forward may ask for this: only what a router forwards (a model's infer, metadata and
 * readiness, an app's routes, the OpenAI calls), with the path as it stands (no dot segments to climb out of it) —
 * never the admin API, the key routes or anything else a node serves its own callers.
 */
export function forwardable(method: string, path: string): boolean {
  const { pathname } = new URL(path, 'http://fleet');
  if (pathname !== path.split('?')[0]) return false;
  return (method === 'POST' && (INFER.test(pathname) || OPENAI.test(pathname))) || (method === 'GET' && MODEL_INFO.test(pathname)) || APP.test(pathname);
}

/** The model or app a request is for, or undefined for everything not routed (admin, health, …). */
export async function targetOf(request: Request): Promise<Target | undefined> {
  const path = new URL(request.url).pathname;
  let m = INFER.exec(path);
  if (m && request.method === 'POST') return { kind: 'model', name: decodeURIComponent(m[1]!) };
  m = MODEL_INFO.exec(path);
  if (m && request.method === 'GET') return { kind: 'model', name: decodeURIComponent(m[1]!) };
  m = APP.exec(path);
  if (m) return { kind: 'app', name: decodeURIComponent(m[1]!) };
  if (request.method === 'POST' && OPENAI.test(path)) {
    try {
      const body = (await request.clone().json()) as { model?: unknown };
      if (typeof body?.model === 'string') return { kind: 'model', name: body.model };
    } catch {
      // Not JSON: the route itself says so.
    }
  }
  return undefined;
}

/** A server-side failure counts as the endpoint's error in its micro stats; a client's 4xx does not. */
const failed = (status: number): string | undefined => (status >= 500 ? `answered ${status}` : undefined);

export class FleetRouter implements RequestRouter {
  readonly seen = new Observations();
  readonly replicas: ReplicaChooser;
  private readonly localInflight = new Map<string, number>();
  private subs: Subscription[] = [];
  /** Forwards this node is answering, by reply subject: a `cancel` aborts one. */
  private readonly answering = new Map<string, AbortController>();
  /** Requests this router made from forwards (their tenant's rate was counted where they entered). */
  private readonly forwarded = new WeakSet<Request>();
  private readonly replies: ReplyInboxes;

  constructor(private readonly o: RouterOptions) {
    this.replies = new ReplyInboxes(o.nc);
    this.replicas = new ReplicaChooser({ node: o.node, site: o.site, nodes: o.nodes, weights: o.weights, seen: this.seen });
  }

  private get chunkSize(): number {
    return Math.max(64 * 1024, (this.o.nc.info?.max_payload ?? 1024 * 1024) - FRAME_OVERHEAD);
  }

  languageModels(): string[] {
    const names = new Set<string>();
    for (const r of this.o.nodes().values()) if (r.node !== this.o.node) for (const name of r.languageModels ?? []) names.add(name);
    return [...names].sort();
  }

  status(): RouterStatus {
    const { node, site, weights, spillQueue, idleTimeoutMs, requestTimeoutMs } = this.o;
    return { node, site, weights, spillQueue, idleTimeoutMs, requestTimeoutMs, down: this.seen.downNodes() };
  }

  async route(request: Request, traceparent?: string): Promise<Routed> {
    // Not served at all once its caller stopped waiting.
    const callerDeadline = Number(request.headers.get(DEADLINE_HEADER));
    if (callerDeadline > 0 && callerDeadline <= Date.now()) throw deadlineError(`${Date.now() - callerDeadline} ms before it arrived here`);
    // A forward is served here, never forwarded again.
    if (request.headers.has(FORWARDED_HEADER)) return { local: () => undefined };
    const target = await targetOf(request);
    if (target === undefined) return { local: () => undefined };
    const key = `${target.kind}:${target.name}`;
    const here = this.o.local(target);
    const busy = this.localInflight.get(key) ?? 0;
    // Saturated here: only a replica less loaded than this node is worth the hop.
    const tried = new Set<string>();
    let pick = here && busy < this.o.spillQueue ? undefined : this.replicas.choose(target, tried, here ? busy : Infinity);
    if (pick === undefined) {
      // Not here, and every replica elsewhere is marked down, loading or being re-placed.
      if (!here && this.replicas.known(target)) throw new WeftError(ErrorCode.FleetUnavailable, `no replica of ${target.kind} '${target.name}' is ready in the fleet now; retry shortly`, { retryAfterSeconds: 1 });
      this.localInflight.set(key, busy + 1);
      return { local: () => this.localInflight.set(key, Math.max(0, (this.localInflight.get(key) ?? 1) - 1)) };
    }
    const body = new Uint8Array(await request.arrayBuffer());
    const deadline = Number(request.headers.get(DEADLINE_HEADER)) || Date.now() + this.o.requestTimeoutMs;
    let last: unknown;
    while (pick !== undefined && Date.now() < deadline) {
      tried.add(pick.node);
      try {
        const more = (fresh: boolean) => {
          if (fresh) this.replicas.refresh();
          return this.replicas.anyLeft(target, tried);
        };
        return { response: await this.forward(pick.node, target.name, request, body, deadline, traceparent, more) };
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        last = err;
        this.o.log.warn('fleet: forward failed; trying another replica', { node: pick.node, target: target.name, error: err.message });
        pick = this.replicas.choose(target, tried);
      }
    }
    if (here) {
      this.localInflight.set(key, busy + 1);
      return { local: () => this.localInflight.set(key, Math.max(0, (this.localInflight.get(key) ?? 1) - 1)) };
    }
    if (Date.now() >= deadline) throw deadlineError(`while no replica of ${target.kind} '${target.name}' had answered`);
    throw new WeftError(ErrorCode.FleetUnavailable, `no replica of ${target.kind} '${target.name}' answered: ${(last as Error | undefined)?.message ?? 'deadline passed'}`, { retryAfterSeconds: 1 });
  }

  /** One forward to one node. Retryable until the response head has been relayed. */
  private async forward(node: string, target: string, request: Request, body: Uint8Array, deadline: number, traceparent: string | undefined, more: InFlight['more']): Promise<Response> {
    const record = this.o.nodes().get(node)!;
    const { nc } = this.o;
    const started = Date.now();
    const sub = this.replies.take();
    const reply = sub.subject;
    const headers: Array<[string, string]> = [];
    request.headers.forEach((v, k) => {
      if (!DROPPED.has(k)) headers.push([k, v]);
    });
    if (traceparent !== undefined) {
      const i = headers.findIndex(([k]) => k === 'traceparent');
      if (i >= 0) headers.splice(i, 1);
      headers.push(['traceparent', traceparent]);
    }
    headers.push([DEADLINE_HEADER, String(deadline)]);
    const url = new URL(request.url);
    const open: OpenFrame = {
      v: FLEET_VERSION,
      kind: 'open',
      from: this.o.node,
      method: request.method as OpenFrame['method'],
      path: url.pathname + url.search,
      headers,
      deadline,
      tenant: request.headers.get(this.o.callerHeader) ?? undefined,
      priority: request.headers.get(PRIORITY_HEADER) ?? undefined,
      traceparent,
      size: body.length,
      reply,
    };
    const size = this.chunkSize;
    const direct = body.length <= size;
    if (direct) open.direct = true;
    this.seen.start(node);
    let finished = false;
    const finish = (ms: number | undefined) => {
      if (finished) return;
      finished = true;
      this.seen.finish(node, target, ms);
    };
    const down = (why: string | WeftError): never => {
      // The caller's deadline passing is not the node's fault: it ends the request, no mark.
      if (why instanceof WeftError) throw why;
      this.seen.markDown(node, Date.now() + 3 * this.o.idleTimeoutMs);
      throw new Retryable(why);
    };
    const lost = (err: Error): never => down(err instanceof WeftError ? err : `${node}: ${err.message}`);
    // Tells the node to stop: its caller went away, or this router gave up on it (best effort).
    const cancel = () => nc.publish(Subjects.cancel(record.site, node), frame({ v: FLEET_VERSION, kind: 'cancel', reply }));
    if (direct) {
      nc.publish(Subjects.infer(record.site, node), frame(open, body), { reply });
      return this.relay({ node, sub, deadline, more, started, finish, down, cancel });
    }
    try {
      const accepted = await this.ask(Subjects.infer(record.site, node), frame(open, body.subarray(0, size)), deadline).catch(lost);
      if (accepted.kind === 'error') throw new WeftError(ErrorCode.BadRequest, `${node} refused the forward: ${accepted.message}`, { field: accepted.field });
      if (accepted.kind !== 'accept') down(`${node} answered the open with ${accepted.kind}`);
      for (let seq = 1, at = size; at < body.length; seq++, at += size) {
        if (accepted.kind !== 'accept' || accepted.more === undefined) down(`${node} took no further body chunks`);
        const ack = await this.ask((accepted as { more: string }).more, frame({ v: FLEET_VERSION, kind: 'chunk', seq }, body.subarray(at, at + size)), deadline).catch(lost);
        if (ack.kind !== 'ack') down(`${node} did not take body chunk ${seq}`);
      }
    } catch (err) {
      sub.unsubscribe();
      finish(undefined);
      throw err;
    }
    return this.relay({ node, sub, deadline, more, started, finish, down, cancel });
  }

  private async ask(subject: string, data: Uint8Array, deadline: number) {
    const left = deadline - Date.now();
    try {
      const msg = await this.o.nc.request(subject, data, { timeout: Math.max(1, Math.min(this.o.idleTimeoutMs, left)) });
      return unframe(replySchema, msg.data).meta;
    } catch (err) {
      // A wait cut short by the caller's deadline is not the node's fault: it is not marked down.
      if (left < this.o.idleTimeoutMs && Date.now() >= deadline) throw deadlineError(`while ${subject} was asked`);
      throw err;
    }
  }

  /** Waits for the head (retryable until then), then streams the body chunks as they come. */
  private async relay(f: InFlight): Promise<Response> {
    const { node, sub, deadline, more, started, finish, down, cancel } = f;
    let timer: NodeJS.Timeout | undefined;
    const next = async (): Promise<Msg> => {
      const wait = Math.min(this.o.idleTimeoutMs, deadline - Date.now());
      const quiet = new Promise<never>((_, reject) => {
        const why = () => (wait < this.o.idleTimeoutMs ? deadlineError(`while ${node} was answering`) : new Retryable(`${node} went quiet for ${wait} ms`));
        timer = setTimeout(() => reject(why()), Math.max(1, wait));
      });
      try {
        const r = await Promise.race([sub.next(), quiet]);
        if (r.done) throw new Retryable(`${node}: the reply subscription closed`);
        return r.value;
      } finally {
        clearTimeout(timer);
      }
    };
    let head;
    let whole: Uint8Array | undefined;
    try {
      for (;;) {
        const msg = await next().catch((err: Error) => down(err instanceof WeftError ? err : err.message));
        // The server's no-responders status to a direct open: the node is gone.
        if (msg.data.length === 0 && msg.headers?.code === 503) down(`${node} no longer listens (no responders)`);
        const unframed = unframe(streamSchema, msg.data);
        const { meta } = unframed;
        if (meta.kind === 'alive') continue;
        if (meta.kind === 'error') throw new WeftError(ErrorCode.BadRequest, `${node} refused the forward: ${meta.message}`, { field: meta.field });
        if (meta.kind === 'fail') down(`${node} failed: ${meta.message}`);
        if (meta.kind !== 'head') down(`${node} sent ${meta.kind} before the response head`);
        head = meta as Extract<typeof meta, { kind: 'head' }>;
        whole = head.last === true ? unframed.payload.slice() : undefined;
        break;
      }
      // A replica shedding load or not ready, or one its node has just removed (its record still
      // lists it: an undeploy, a scale-down, a consolidating move): another may serve it (the
      // body is still here).
      // A 404 or 503 may mean the index is behind (the replica went, another came): it is read
      // again before looking for another replica.
      if ((head.status === 429 || head.status === 503 || head.status === 404) && more(head.status !== 429)) throw new Retryable(`${node} answered ${head.status}`);
    } catch (err) {
      sub.unsubscribe();
      finish(undefined);
      cancel();
      throw err;
    }
    const out = new Headers();
    for (const [k, v] of head.headers) if (!DROPPED.has(k)) out.append(k, v);
    out.set(NODE_HEADER, head.node);
    const nullBody = (status: number, bytes: number) => status === 204 || status === 304 || bytes === 0;
    if (whole !== undefined) {
      sub.unsubscribe();
      finish(Date.now() - started);
      return new Response(nullBody(head.status, whole.length) ? null : (whole as Uint8Array<ArrayBuffer>), { status: head.status, headers: out });
    }
    let expected = 0;
    if (!/^text\/event-stream/.test(out.get('content-type') ?? '')) {
      // A whole answer is gathered before any byte goes to the caller: a node lost mid-body is
      // still retried elsewhere. Only streams (server-sent events) are relayed as they come.
      const parts: Uint8Array[] = [];
      try {
        for (;;) {
          const msg = await next().catch((err: Error) => down(err instanceof WeftError ? err : err.message));
          const { meta, payload } = unframe(streamSchema, msg.data);
          if (meta.kind === 'alive') continue;
          if (meta.kind === 'data' && meta.seq === expected++) parts.push(payload.slice());
          else if (meta.kind === 'end' && meta.seq === parts.length) break;
          else down(`${node} broke off its response: ${meta.kind === 'fail' ? meta.message : `unexpected ${meta.kind}`}`);
        }
      } catch (err) {
        finish(undefined);
        cancel();
        throw err;
      } finally {
        sub.unsubscribe();
      }
      finish(Date.now() - started);
      return new Response(nullBody(head.status, parts.length) ? null : Buffer.concat(parts), { status: head.status, headers: out });
    }
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          let msg: Msg;
          try {
            msg = await next();
          } catch (err) {
            finish(undefined);
            sub.unsubscribe();
            // Bytes already went to the caller: the stream ends with an error, never replayed.
            controller.error(new Error(`the forward to ${node} broke mid-response: ${(err as Error).message}`));
            return;
          }
          const { meta, payload } = unframe(streamSchema, msg.data);
          if (meta.kind === 'alive') continue;
          if (meta.kind === 'data' && meta.seq === expected) {
            expected++;
            controller.enqueue(payload.slice());
            return;
          }
          finish(Date.now() - started);
          sub.unsubscribe();
          if (meta.kind === 'end' && meta.seq === expected) controller.close();
          else controller.error(new Error(`the forward to ${node} broke mid-response: ${meta.kind === 'fail' ? meta.message : `unexpected ${meta.kind}`}`));
          return;
        }
      },
      // The caller went away mid-stream: the serving node stops generating.
      cancel: () => {
        finish(undefined);
        sub.unsubscribe();
        cancel();
      },
    });
    return new Response(stream, { status: head.status, headers: out });
  }

  /** Answers this node's `infer` and `cancel` subjects, announced as a NATS micro service. */
  serve(): void {
    const { nc, site, node } = this.o;
    const infer = new EndpointCounters('infer', Subjects.infer(site, node));
    const cancel = new EndpointCounters('cancel', Subjects.cancel(site, node));
    this.subs.push(
      nc.subscribe(infer.subject, {
        callback: (err, msg) => {
          if (err) return;
          const started = performance.now();
          void this.accept(msg).then(
            (error) => infer.record(performance.now() - started, error),
            (e: Error) => {
              infer.record(performance.now() - started, e.message);
              this.o.log.warn('fleet: forwarded request failed', { error: e.message });
            },
          );
        },
      }),
      nc.subscribe(cancel.subject, {
        callback: (err, msg) => {
          if (err) return;
          const started = performance.now();
          try {
            this.answering.get(unframe(cancelSchema, msg.data).meta.reply)?.abort();
            cancel.record(performance.now() - started);
          } catch (e) {
            cancel.record(performance.now() - started, (e as Error).message);
            this.o.log.warn('fleet: refused a malformed cancel', { error: (e as Error).message });
          }
        },
      }),
      ...announce(nc, { id: node, version: this.o.version, description: `Weft node ${node} of site ${site}: answers forwarded model and app requests`, metadata: { node, site } }, [infer, cancel]),
    );
  }

  /** Answers a malformed or unforwardable message with its error; returns the error. */
  private refuse(msg: Msg, code: string, message: string, field?: string): string {
    this.o.log.warn('fleet: refused a forwarded message', { code, field, error: message });
    if (msg.reply) msg.respond(frame({ v: FLEET_VERSION, kind: 'error', code, message, field }));
    return `${code}: ${message}`;
  }

  /** Takes a forward's open (and the rest of its body); resolves with its error, if any. */
  private async accept(msg: Msg): Promise<string | undefined> {
    let open: OpenFrame;
    let first: Uint8Array;
    try {
      ({ meta: open, payload: first } = unframe(openSchema, msg.data));
    } catch (err) {
      const e = err as FrameError;
      return this.refuse(msg, ErrorCode.ForwardInvalid, e.message, e.field);
    }
    if (first.length > open.size) return this.refuse(msg, ErrorCode.ForwardInvalid, `the first chunk holds ${first.length} bytes of a ${open.size}-byte body`, 'size');
    if (!forwardable(open.method, open.path)) return this.refuse(msg, ErrorCode.ForwardInvalid, `${open.method} ${open.path.slice(0, 256)} is not something a node forwards (a model's infer, an app's routes, the OpenAI calls)`, 'path');
    if (open.direct === true) {
      if (first.length < open.size) return this.refuse(msg, ErrorCode.ForwardInvalid, `a direct open holds ${first.length} bytes of a ${open.size}-byte body; it must hold all of it`, 'size');
      return this.answer(open, first);
    }
    const { nc } = this.o;
    const body = new Uint8Array(open.size);
    body.set(first);
    let have = first.length;
    if (have < open.size) {
      const more = createInbox();
      const chunks = nc.subscribe(more);
      msg.respond(frame({ v: FLEET_VERSION, kind: 'accept', more }));
      const timer = setTimeout(() => chunks.unsubscribe(), Math.max(1, Math.min(open.deadline - Date.now(), 60_000)));
      let seq = 1;
      let broke: string | undefined;
      for await (const m of chunks) {
        try {
          const { meta, payload } = unframe(chunkSchema, m.data);
          if (meta.seq !== seq || have + payload.length > open.size) throw new FrameError(`body chunk ${meta.seq} does not follow ${seq - 1} within ${open.size} bytes`, 'seq');
          body.set(payload, have);
          have += payload.length;
          seq++;
          m.respond(frame({ v: FLEET_VERSION, kind: 'ack', seq: meta.seq }));
        } catch (err) {
          const e = err as FrameError;
          broke = this.refuse(m, ErrorCode.ForwardInvalid, e.message, e.field);
          break;
        }
        if (have === open.size) break;
      }
      clearTimeout(timer);
      chunks.unsubscribe();
      if (have < open.size) return broke ?? `the body broke off after ${have} of ${open.size} bytes`;
    } else {
      msg.respond(frame({ v: FLEET_VERSION, kind: 'accept' }));
    }
    return this.answer(open, body);
  }

  /** Replays a forward into this node's handler and sends the answer; resolves with its error, if any. */
  private async answer(open: OpenFrame, body: Uint8Array): Promise<string | undefined> {
    const { nc } = this.o;
    // The frame's deadline is the one that holds, whatever the headers say. The whole body is
    // here: its length lets the body limit check it by the header, as it does a caller's,
    // instead of counting it through a stream.
    const hasBody = open.method !== 'GET' && open.method !== 'HEAD';
    const headers = open.headers.filter(([k]) => !REPLAY_SETS.has(k.toLowerCase()));
    headers.push([FORWARDED_HEADER, open.from], [DEADLINE_HEADER, String(open.deadline)]);
    if (hasBody) headers.push(['content-length', String(body.length)]);
    const alive = setInterval(() => nc.publish(open.reply, frame({ v: FLEET_VERSION, kind: 'alive' })), Math.max(50, this.o.idleTimeoutMs / 4));
    // The caller's deadline holds here too, and its going away (a `cancel`): queued work is
    // dropped and generation stopped when either comes. A timeout reason reads as 504, not 499.
    const stop = new AbortController();
    const due = setTimeout(() => stop.abort(new DOMException('the deadline passed', 'TimeoutError')), Math.min(MAX_TIMER_MS, Math.max(1, open.deadline - Date.now())));
    this.answering.set(open.reply, stop);
    try {
      const request = new ReplayedRequest(`http://weft.fleet${open.path}`, { method: open.method, headers, signal: stop.signal }, hasBody ? (body as Uint8Array<ArrayBuffer>) : null);
      this.forwarded.add(request);
      let response = await this.o.handler(request);
      const out: Array<[string, string]> = [];
      response.headers.forEach((v, k) => out.push([k, v]));
      const size = this.chunkSize;
      const head = { v: FLEET_VERSION, kind: 'head', status: response.status, headers: out, node: this.o.node } as const;
      // A whole answer that fits in one frame goes as one message (streams go as they come).
      if (open.direct === true && !/^text\/event-stream/.test(response.headers.get('content-type') ?? '')) {
        const bytes = await wholeBody(response);
        if (bytes.length <= size) {
          nc.publish(open.reply, frame({ ...head, last: true }, bytes));
          return failed(response.status);
        }
        response = new Response(bytes, response);
      }
      nc.publish(open.reply, frame(head));
      let seq = 0;
      if (response.body) {
        for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
          // Cancelled: leaving the loop cancels the body, whatever route produces it.
          if (stop.signal.aborted) break;
          for (let at = 0; at < piece.length; at += size) nc.publish(open.reply, frame({ v: FLEET_VERSION, kind: 'data', seq: seq++ }, piece.subarray(at, at + size)));
        }
      }
      nc.publish(open.reply, frame({ v: FLEET_VERSION, kind: 'end', seq }));
      return failed(response.status);
    } catch (err) {
      nc.publish(open.reply, frame({ v: FLEET_VERSION, kind: 'fail', message: (err as Error).message }));
      return (err as Error).message;
    } finally {
      clearInterval(alive);
      clearTimeout(due);
      this.answering.delete(open.reply);
    }
  }

  isForwarded(request: Request): boolean {
    return this.forwarded.has(request);
  }

  close(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
    this.replies.close();
  }
}
