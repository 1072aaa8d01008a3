// Time limits of registry requests. A registry that accepts the connection and never answers (a
// hung process, a stuck proxy) must fail the request, not hang it: the response head (connect,
// request, status and headers) has a total limit, a body only an idle one — no byte for that long —
// so a large blob on a slow but working link completes however long it takes in all.
import { ErrorCode, WeftError } from '../../errors.js';

/** Default of --registry-timeout: about what docker and oras wait for a registry to answer. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 30_000;
/** Default of --registry-idle-timeout. */
export const DEFAULT_REGISTRY_IDLE_TIMEOUT_MS = 60_000;

export interface RegistryTimeouts {
  /** Milliseconds for a response's head; 0: no limit. */
  head: number;
  /** Milliseconds a body (either way) may go without a byte; 0: no limit. */
  idle: number;
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** `METHOD /path` of a request, for messages: no query (an upload's state token) and no userinfo. */
export function requestLabel(method: string, url: string | URL): string {
  return `${method} ${new URL(url).pathname}`;
}

export function headTimeoutError(who: string, what: string, ms: number): WeftError {
  return new WeftError(ErrorCode.RegistryError, `${who} did not answer ${what} within ${formatMs(ms)} (--registry-timeout)`);
}

export function idleTimeoutError(who: string, verb: 'sent' | 'took', what: string, ms: number): WeftError {
  return new WeftError(ErrorCode.RegistryError, `${who} ${verb} nothing of ${what} for ${formatMs(ms)} (--registry-idle-timeout)`);
}

/**
 * Runs `start` under a timer: past `ms` the signal it was given aborts with `onTimeout()`'s error
 * (fetch rejects with the abort reason). The controller stays usable for the body afterwards.
 */
export async function withHeadTimeout<T>(ms: number, onTimeout: () => WeftError, start: (controller: AbortController) => Promise<T>): Promise<{ value: T; controller: AbortController }> {
  const controller = new AbortController();
  const timer = ms > 0 ? setTimeout(() => controller.abort(onTimeout()), ms) : undefined;
  try {
    return { value: await start(controller), controller };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The body of `res` as a stream that errors with `onIdle()`'s error, and aborts the request, when
 * no chunk arrives for `ms` while it is being read. Time the reader spends elsewhere (writing to
 * disk) does not count: the stream is pulled, not pushed.
 */
export function idleGuarded(res: Response, ms: number, controller: AbortController, onIdle: () => WeftError): Response {
  // A null-body status cannot be rebuilt with a body (and has none to wait for).
  if (!res.body || ms <= 0 || [101, 204, 205, 304].includes(res.status)) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(stream) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = onIdle();
            controller.abort(err);
            reject(err);
          }, ms);
        });
        try {
          const next = await Promise.race([reader.read(), idle]);
          if (next.done) stream.close();
          else stream.enqueue(next.value);
        } catch (err) {
          stream.error(err);
          reader.cancel(err).catch(() => {});
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
