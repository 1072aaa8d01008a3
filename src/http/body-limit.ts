// The request body limit (--max-body-size), before anything reads a body. A declared
// Content-Length over it is refused without passing the body on (what the client still sends is
// discarded while it keeps coming, up to four times the limit); a body without one (chunked) is
// counted as it streams to whoever reads it, and refused once it passes the limit — never
// buffered here, so a request waits for its body only where a route reads it, after the guard
// has let it in. The bytes of all large bodies at once are bounded too (body-budget.ts).

import type { MiddlewareHandler } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';
import { meterBody, useBodyBudget, type BodyBudget } from './body-budget.js';

/** Bodies up to this multiple of the limit are read to the end before the 413 goes out. */
const LINGER_FACTOR = 4;
/** ... while they keep coming: a client that sends nothing for this long gets its 413 now. */
const LINGER_IDLE_MS = 1000;

/** Reads and discards a body until it ends or no bytes arrive for LINGER_IDLE_MS. */
async function discard(body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const idle = () => new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), LINGER_IDLE_MS)));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), idle()]);
      clearTimeout(timer);
      if (next === 'idle' || next.done) return;
    }
  } catch {
    // the client went away: nothing left to read
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/**
 * `maxBytes` bounds each body; `budget` (--max-body-memory) all large ones at once, as their
 * bytes arrive: a declared one where readBody reads it, a chunked one here as it streams.
 */
export function bodyLimit(maxBytes: number, budget?: BodyBudget): MiddlewareHandler {
  const tooLarge = () => new WeftError(ErrorCode.BodyTooLarge, `request body exceeds the limit of ${maxBytes} bytes (--max-body-size)`);
  return async (c, next) => {
    if (budget !== undefined) useBodyBudget(c, budget);
    // The headers decide first: touching `body` makes @hono/node-server build a web Request and
    // stream for the request, where a route's arrayBuffer() would otherwise read the socket
    // directly (bench/routing.ts: a quarter of a small JSON request's CPU on the node).
    const length = c.req.header('content-length');
    if (length !== undefined) {
      if (Number(length) > maxBytes) {
        // Read and discard what the client is still sending (bounded in size, and only while it
        // keeps coming) so that clients which read a response only after sending the whole body
        // still see the 413.
        const body = c.req.raw.body;
        if (body !== null && Number(length) <= maxBytes * LINGER_FACTOR) await discard(body);
        c.header('Connection', 'close');
        throw tooLarge();
      }
      return next();
    }
    // Over HTTP/1.1 a request without a Content-Length has a body only when it is chunked. A
    // Request made in process (a replayed forward, app.request) is asked for its body instead.
    if ((c.env as { incoming?: unknown } | undefined)?.incoming !== undefined && c.req.header('transfer-encoding') === undefined) return next();
    const body = c.req.raw.body;
    if (body === null) return next();
    let seen = 0;
    const meter = meterBody(c);
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          try {
            if (seen > maxBytes) throw tooLarge();
            meter?.(seen);
          } catch (err) {
            // The rest of the body is not read: the connection cannot carry another request.
            c.header('Connection', 'close');
            return controller.error(err);
          }
          controller.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
  };
}
