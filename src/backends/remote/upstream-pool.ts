// The upstream servers of one remote model: picks the healthy one with the fewest requests in
// flight, takes a failed one out for a while (then tries it again), and checks each one's health
// in the background with GET /models.

import { ErrorCode, WeftError, abortError } from '../../errors.js';

export interface UpstreamState {
  url: string;
  healthy: boolean;
  inflight: number;
  /** Why it was last taken out, if it was. */
  lastError: string | undefined;
}

export interface UpstreamPoolOptions {
  model: string;
  urls: readonly string[];
  /** Milliseconds between health checks. */
  healthIntervalMs: number;
  /** Milliseconds a failed upstream stays out before requests try it again. */
  retryMs: number;
  log: { warn(msg: string, fields?: object): void; info(msg: string, fields?: object): void };
  /** Seam for tests of faults; the real fetch otherwise. */
  fetch?: typeof fetch;
  now?: () => number;
}

interface Upstream extends UpstreamState {
  /** Base URL of its OpenAI API, without a trailing slash. */
  base: string;
  downUntil: number;
}

/** A response from one upstream; `release` must be called once its body has been read. */
export interface UpstreamResponse {
  response: Response;
  release: () => void;
}

/** Accepts http://host:port and http://host:port/v1 alike: a bare host gets /v1. */
export function apiBase(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/v1' : path}`;
}

export class UpstreamPool {
  private readonly upstreams: Upstream[];
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private turn = 0;

  constructor(private readonly options: UpstreamPoolOptions) {
    this.upstreams = options.urls.map((url) => ({ url, base: apiBase(url), healthy: true, inflight: 0, lastError: undefined, downUntil: 0 }));
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.checkAll(), options.healthIntervalMs);
    this.timer.unref();
    void this.checkAll();
  }

  states(): UpstreamState[] {
    return this.upstreams.map(({ url, healthy, inflight, lastError }) => ({ url, healthy, inflight, lastError }));
  }

  /**
   * POSTs `body` to `path` on the least-loaded healthy upstream. Connection failures and 5xx
   * answers take that upstream out and try the next; 4xx answers are the caller's fault and
   * come back as errors. Aborting `signal` cancels the request.
   */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<UpstreamResponse> {
    const tried = new Set<Upstream>();
    for (;;) {
      const upstream = this.pick(tried);
      if (upstream === undefined) {
        const retryAfterSeconds = Math.max(1, Math.ceil(this.options.retryMs / 1000));
        throw new WeftError(ErrorCode.UpstreamUnavailable, `no upstream of model '${this.options.model}' is reachable (${this.describe()})`, {
          retryAfterSeconds,
        });
      }
      tried.add(upstream);
      upstream.inflight++;
      let released = false;
      const release = () => {
        if (!released) upstream.inflight--;
        released = true;
      };
      let response: Response;
      try {
        response = await this.fetch(`${upstream.base}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
          body: JSON.stringify(body),
          signal,
        });
      } catch (err) {
        release();
        if (signal.aborted) throw abortError(signal, err);
        this.takeOut(upstream, describeFetchError(err));
        continue;
      }
      if (response.status >= 500) {
        release();
        await response.body?.cancel().catch(() => undefined);
        this.takeOut(upstream, `HTTP ${response.status}`);
        continue;
      }
      if (!response.ok) {
        release();
        throw await upstreamError(response);
      }
      return { response, release };
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Healthy upstreams not tried yet, fewest in flight first; ties take turns. */
  private pick(tried: ReadonlySet<Upstream>): Upstream | undefined {
    const now = this.now();
    const candidates = this.upstreams.filter((u) => !tried.has(u) && u.downUntil <= now);
    if (candidates.length === 0) return undefined;
    const least = Math.min(...candidates.map((u) => u.inflight));
    const tied = candidates.filter((u) => u.inflight === least);
    return tied[this.turn++ % tied.length];
  }

  private takeOut(upstream: Upstream, why: string): void {
    if (upstream.healthy) this.options.log.warn('upstream taken out', { model: this.options.model, url: upstream.url, error: why });
    upstream.healthy = false;
    upstream.lastError = why;
    upstream.downUntil = this.now() + this.options.retryMs;
  }

  private async checkAll(): Promise<void> {
    await Promise.all(
      this.upstreams.map(async (u) => {
        try {
          const res = await this.fetch(`${u.base}/models`, { signal: AbortSignal.timeout(Math.min(5000, this.options.healthIntervalMs)) });
          await res.body?.cancel().catch(() => undefined);
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          if (!u.healthy) this.options.log.info('upstream back', { model: this.options.model, url: u.url });
          u.healthy = true;
          u.downUntil = 0;
        } catch (err) {
          this.takeOut(u, describeFetchError(err));
        }
      }),
    );
  }

  private describe(): string {
    return this.upstreams.map((u) => `${u.url}: ${u.lastError ?? 'busy'}`).join('; ');
  }
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** An upstream's 4xx answer as our error, keeping its message and parameter. */
async function upstreamError(response: Response): Promise<WeftError> {
  const text = await response.text().catch(() => '');
  let message = text.slice(0, 500) || `HTTP ${response.status}`;
  let field: string | undefined;
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: { message?: string; param?: string | null; code?: string } | string };
    if (typeof body.error === 'string') message = body.error;
    else if (body.error) {
      message = body.error.message ?? message;
      field = body.error.param ?? undefined;
      code = body.error.code;
    }
  } catch {
    // not JSON: keep the text
  }
  const retry = Number(response.headers.get('retry-after'));
  const options = { ...(field !== undefined && { field }), ...(retry > 0 && { retryAfterSeconds: retry }) };
  const upstream = `upstream: ${message}`;
  if (code === 'context_length_exceeded') return new WeftError(ErrorCode.ContextLengthExceeded, upstream, options);
  switch (response.status) {
    case 400:
    case 422:
      return new WeftError(ErrorCode.BadRequest, upstream, options);
    case 404:
      return new WeftError(ErrorCode.ModelNotFound, upstream, options);
    case 413:
      return new WeftError(ErrorCode.BodyTooLarge, upstream, options);
    case 429:
      return new WeftError(ErrorCode.QueueFull, upstream, { ...options, retryAfterSeconds: retry > 0 ? retry : 1 });
    default:
      return new WeftError(ErrorCode.UpstreamError, `${upstream} (HTTP ${response.status})`, options);
  }
}
