// The one reader of a request body's bytes. A large body whose length is declared is read from
// the socket straight into one buffer of that length: collecting it as @hono/node-server does
// (a list of 64 KiB socket chunks, then a concatenation, then a copy) leaves glibc's heap
// fragmented, where one buffer per body is given back whole: after twelve 60 MB KServe JSON
// bodies at once a node held 779 MiB, now 427 (bench/body-flood.ts, bench/MEMORY.md). Smaller bodies, and
// bodies without a length (chunked, counted by the body limit), are read as Hono reads them. Each
// arrival of a large body is counted against --max-body-memory (body-budget.ts).

import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';
import { LARGE_BODY_BYTES, meterBody } from './body-budget.js';

const BODY = 'weft.body';

/** The request's body (read once; later calls get the same bytes). */
export async function readBody(c: Context): Promise<Uint8Array<ArrayBuffer>> {
  const cached = c.get(BODY as never) as Uint8Array<ArrayBuffer> | undefined;
  if (cached !== undefined) return cached;
  const incoming = unreadLargeBody(c);
  const body = incoming === undefined ? new Uint8Array(await c.req.arrayBuffer()) : await readInto(incoming, Number(c.req.header('content-length')), meterBody(c));
  c.set(BODY as never, body as never);
  return body;
}

const closedEarly = (cause?: Error) => new Error('the client closed the connection before its request body was read', cause === undefined ? undefined : { cause });

/** Whether the request's body has been read (by readBody, or through Hono). */
export function bodyRead(c: Context): boolean {
  return c.get(BODY as never) !== undefined || c.req.raw.bodyUsed;
}

/** The Node request whose declared body of LARGE_BODY_BYTES or more nobody has read yet. */
function unreadLargeBody(c: Context): (IncomingMessage & { rawBody?: Buffer }) | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage & { rawBody?: Buffer } } | undefined)?.incoming;
  // A request made in process has no socket; one whose body Hono or a stream has begun is theirs.
  if (incoming === undefined || incoming.readableDidRead || incoming.rawBody !== undefined || c.req.raw.bodyUsed) return undefined;
  const length = Number(c.req.header('content-length'));
  return Number.isSafeInteger(length) && length >= LARGE_BODY_BYTES ? incoming : undefined;
}

/** Reads the declared `length` bytes, each arrival counted by `meter` (which may refuse the body). */
function readInto(incoming: IncomingMessage & { rawBody?: Buffer }, length: number, meter: ((seen: number) => void) | undefined): Promise<Uint8Array<ArrayBuffer>> {
  // allocUnsafeSlow: a buffer of its own (not a slice of Node's pool), so it is freed whole.
  const body = Buffer.allocUnsafeSlow(length);
  let filled = 0;
  return new Promise((resolve, reject) => {
    if (incoming.destroyed) return reject(closedEarly());
    const done = (err?: Error) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err !== undefined) return reject(err);
      // Anything that asks Hono for the body afterwards (the fleet's forward) gets these bytes.
      incoming.rawBody = body;
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      // Node's parser delivers exactly Content-Length bytes; this guards the buffer all the same.
      if (filled + chunk.byteLength > length) return done(new WeftError(ErrorCode.BadRequest, 'the request body is longer than its Content-Length'));
      try {
        meter?.(filled + chunk.byteLength);
      } catch (err) {
        done(err as Error);
        // Refused mid-body (--max-body-memory): the rest, at most its declared length, is read
        // and dropped, so a client that reads only after sending still sees the refusal.
        incoming.resume();
        return;
      }
      chunk.copy(body, filled);
      filled += chunk.byteLength;
    };
    const onEnd = () => (filled === length ? done() : done(new WeftError(ErrorCode.BadRequest, 'the request body is shorter than its Content-Length')));
    // Node reports a connection lost mid-body as 'aborted' (an error), or only as a close.
    const onError = (err: Error) => done(closedEarly(err));
    const onClose = () => done(closedEarly());
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
