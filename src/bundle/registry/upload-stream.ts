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

export async function streamRequest(method: string, url: URL, headers: Record<string, string>, body: AsyncIterable<Uint8Array>): Promise<StreamedResponse> {
  const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers });
  const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
  // A registry may answer an error before reading the whole body and close the connection:
  // wait for both sides, and let its response explain the failed upload.
  const [sent, answered] = await Promise.allSettled([pipeline(Readable.from(body), req), response]);
  if (answered.status === 'rejected') throw answered.reason;
  const [res] = answered.value;
  if (sent.status === 'rejected' && (res.statusCode ?? 500) < 400) throw sent.reason;
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: res.statusCode ?? 0, headers: out, text: async () => text };
}
