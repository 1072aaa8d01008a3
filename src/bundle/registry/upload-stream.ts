// Sends a request whose body is a stream, over node:http(s) with real back-pressure. Node 20's
// fetch holds a streamed request body in memory (a 512 MiB PUT through it peaked at 618 MiB RSS,
// through node:http at 125 MiB), so blob uploads go through here; everything else uses fetch.

import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StreamedResponse {
  status: number;
  headers: Headers;
  text(): Promise<string>;
}

/** Time limits of one upload (timeouts.ts): the errors they fail it with are the caller's. */
export interface StreamTimeouts {
  /** Milliseconds from the last byte of the body to the response head; 0: no limit. */
  head: number;
  /** Milliseconds the connection may go without a byte either way while the body is sent or the answer read; 0: no limit. */
  idle: number;
  onHead(): Error;
  onIdle(): Error;
}

export async function streamRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: AsyncIterable<Uint8Array>,
  timeouts: StreamTimeouts = { head: 0, idle: 0, onHead: () => new Error('timeout'), onIdle: () => new Error('timeout') },
): Promise<StreamedResponse> {
  const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers });
  // While the body goes out, a registry that stops taking it (no byte moves for `idle`) fails it;
  // a slow upload that keeps moving runs as long as it takes. Once it is all sent, the answer's
  // head must follow within `head`, as for any other request.
  if (timeouts.idle > 0) req.setTimeout(timeouts.idle, () => req.destroy(timeouts.onIdle()));
  let headTimer: NodeJS.Timeout | undefined;
  let answeredYet = false;
  const response = (once(req, 'response') as Promise<[http.IncomingMessage]>).finally(() => {
    answeredYet = true;
    clearTimeout(headTimer);
  });
  const sent = pipeline(Readable.from(body), req).then(() => {
    if (answeredYet || timeouts.head <= 0) return;
    req.setTimeout(0);
    headTimer = setTimeout(() => req.destroy(timeouts.onHead()), timeouts.head);
  });
  try {
    // A registry may answer an error before reading the whole body and close the connection:
    // wait for both sides, and let its response explain the failed upload.
    const [sending, answered] = await Promise.allSettled([sent, response]);
    if (answered.status === 'rejected') throw answered.reason;
    const [res] = answered.value;
    if (sending.status === 'rejected' && (res.statusCode ?? 500) < 400) throw sending.reason;
    if (timeouts.idle > 0) res.setTimeout(timeouts.idle, () => res.destroy(timeouts.onIdle()));
    const chunks: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
    const text = Buffer.concat(chunks).toString('utf8');
    return { status: res.statusCode ?? 0, headers: out, text: async () => text };
  } finally {
    clearTimeout(headTimer);
  }
}
