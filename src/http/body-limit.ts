// The request body limit (--max-body-size), before anything reads a body. A declared
// Content-Length over it is refused before the body is read; a body without one (chunked) is
// counted as it streams to whoever reads it, and refused once it passes the limit — never
// buffered here, so a request waits for its body only where a route reads it, after the guard
// has let it in.

import type { MiddlewareHandler } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';

/** Bodies up to this multiple of the limit are read to the end before the 413 goes out. */
const LINGER_FACTOR = 4;

export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new WeftError(ErrorCode.BodyTooLarge, `request body exceeds the limit of ${maxBytes} bytes (--max-body-size)`);
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return next();
    const length = c.req.header('content-length');
    if (length !== undefined) {
      if (Number(length) > maxBytes) {
        // Read and discard what the client is still sending (streamed, bounded) so that clients
        // which only read a response after sending the whole body still see the 413.
        if (Number(length) <= maxBytes * LINGER_FACTOR) for await (const chunk of body) void chunk;
        c.header('Connection', 'close');
        throw tooLarge();
      }
      return next();
    }
    let seen = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen <= maxBytes) return controller.enqueue(chunk);
          // The rest of the body is not read: the connection cannot carry another request.
          c.header('Connection', 'close');
          controller.error(tooLarge());
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
  };
}
