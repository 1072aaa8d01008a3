// The whole body of the answer a node's handler gave to a forward it serves.
//
// @hono/node-server's Response (the global Response of a node that serves HTTP) keeps the string
// or bytes a route answered with under a private symbol, and makes undici's Response only when the
// body is asked for; undici then wraps the body in a ReadableStream (made transferable in Node 20,
// which is costly: in CPU profiles of a node serving small forwards, making and reading that
// Response took about a tenth of each request). The kept body is read when it is there; any other
// response is read as a web Response. response-body.test.ts fails if node-server stops keeping it.

let keptBody: symbol | undefined;
const utf8 = new TextEncoder();

export async function wholeBody(response: Response): Promise<Uint8Array<ArrayBuffer>> {
  keptBody ??= Object.getOwnPropertySymbols(response).find((s) => s.description === 'cache');
  const kept = keptBody === undefined ? undefined : (response as unknown as Record<symbol, unknown>)[keptBody];
  // node-server's cache entry: [status, body, headers].
  if (Array.isArray(kept) && kept.length === 3) {
    const body: unknown = kept[1];
    if (typeof body === 'string') return utf8.encode(body);
    if (body instanceof Uint8Array) return body as Uint8Array<ArrayBuffer>;
    if (body === null) return new Uint8Array(0);
  }
  return new Uint8Array(await response.arrayBuffer());
}
