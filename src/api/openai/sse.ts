// Server-sent events out of a Hono handler. Under @hono/node-server the events are written
// straight to Node's ServerResponse: a token-sized event through web streams costs more than
// generating it on a small model. Elsewhere (app.request in tests) Hono's streamSSE is used.

import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';

export interface SseSink {
  /** Sends one event; resolves when the socket can take more. */
  send(data: string): Promise<void>;
}

/**
 * Runs `body` with a sink for events; `onClose` fires when the client goes away. Resolves with
 * the Response Hono must return once the handler is done.
 */
export async function respondWithSse(c: Context, onClose: () => void, body: (sink: SseSink) => Promise<void>): Promise<Response> {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing === undefined) {
    return streamSSE(c, async (stream) => {
      stream.onAbort(onClose);
      await body({ send: (data) => stream.writeSSE({ data }) });
    });
  }
  outgoing.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  outgoing.flushHeaders();
  const closed = () => outgoing.destroyed || outgoing.writableEnded;
  outgoing.once('close', onClose);
  try {
    await body({
      send: async (data) => {
        if (closed()) return;
        if (!outgoing.write(`data: ${data}\n\n`)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              outgoing.off('drain', done);
              outgoing.off('close', done);
              resolve();
            };
            outgoing.on('drain', done);
            outgoing.on('close', done);
          });
        }
      },
    });
  } finally {
    outgoing.off('close', onClose);
    if (!closed()) outgoing.end();
  }
  return RESPONSE_ALREADY_SENT;
}
