// The forwarding wire, version 1, on `weft.v1.<site>.<node>.infer`: every NATS message is one
// frame — a 4-byte big-endian length, that many bytes of JSON meta, then raw payload bytes — so
// bodies travel as bytes (no base64) and large ones in chunks below the server's max payload.
//
//   caller → node   open  (request-reply): method, path, headers, deadline, body size, first chunk
//   node → caller   accept {more}: the subject further body chunks go to (each acknowledged), or error
//   node → reply    head (status, headers), data… (response chunks as they come), end | fail;
//                   alive every so often while the node works, so a dead node is noticed
//
// A body that fits in the open frame goes `direct`: published with `reply` as its NATS reply
// subject, no accept asked for (a refusal, or the server's no-responders status, comes to `reply`),
// and a whole answer that fits in one frame comes back as one `head` with `last` and the body as
// its payload — one message each way, the common case of a small inference.
//   caller → node   cancel {reply} on `….cancel`: the caller went away (or gave up on a silent
//                   node); the node stops the work answering to that reply subject

import { z } from 'zod';
import { FLEET_VERSION, TOKEN } from '../namespace.js';

const headers = z.array(z.tuple([z.string().max(1024), z.string().max(65_536)])).max(256);

export const openSchema = z.object({
  v: z.literal(FLEET_VERSION),
  kind: z.literal('open'),
  /** The forwarding node, for logs and `x-weft-forwarded`. */
  from: z.string().regex(TOKEN),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
  path: z.string().startsWith('/').max(8192),
  headers,
  /** Epoch ms after which the caller no longer waits. */
  deadline: z.number().int().positive(),
  tenant: z.string().max(256).optional(),
  priority: z.string().max(64).optional(),
  traceparent: z.string().max(256).optional(),
  /** Total body bytes; the open frame carries the first chunk. */
  size: z.number().int().nonnegative(),
  /** Subject the response frames go to. */
  reply: z.string().min(1).max(256),
  /** The whole body is in this frame and no accept is awaited: a refusal goes to `reply`. */
  direct: z.boolean().optional(),
});
export type OpenFrame = z.infer<typeof openSchema>;

export const cancelSchema = z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('cancel'), reply: z.string().min(1).max(256) });

export const chunkSchema = z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('chunk'), seq: z.number().int().nonnegative() });

/** A node refusing a forwarded message (answered to the open's reply, or to a direct open's `reply`). */
const refusal = z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('error'), code: z.string(), message: z.string(), field: z.string().optional() });

export const replySchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('accept'), more: z.string().optional() }),
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('ack'), seq: z.number().int() }),
  refusal,
]);
export type ReplyFrame = z.infer<typeof replySchema>;

export const streamSchema = z.discriminatedUnion('kind', [
  /** `last`: the payload is the whole body, nothing follows. */
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('head'), status: z.number().int().min(100).max(599), headers, node: z.string(), last: z.boolean().optional() }),
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('data'), seq: z.number().int().nonnegative() }),
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('end'), seq: z.number().int().nonnegative() }),
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('alive') }),
  z.object({ v: z.literal(FLEET_VERSION), kind: z.literal('fail'), message: z.string() }),
  refusal,
]);
export type StreamFrame = z.infer<typeof streamSchema>;

/** Room left in each message for the meta and NATS's own headers. */
export const FRAME_OVERHEAD = 64 * 1024;

// One of each for the module: making them costs more than a small frame's encoding.
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

export function frame(meta: object, payload: Uint8Array = EMPTY): Uint8Array {
  const json = JSON.stringify(meta);
  const length = Buffer.byteLength(json);
  const out = new Uint8Array(4 + length + payload.length);
  new DataView(out.buffer).setUint32(0, length);
  utf8Encoder.encodeInto(json, out.subarray(4, 4 + length));
  out.set(payload, 4 + length);
  return out;
}

export class FrameError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Splits and checks one frame; a FrameError names what is wrong. */
export function unframe<T>(schema: z.ZodType<T>, data: Uint8Array): { meta: T; payload: Uint8Array } {
  if (data.length < 4) throw new FrameError(`a forwarded message of ${data.length} bytes is shorter than its 4-byte meta length`, 'frame');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + length > data.length) throw new FrameError(`a forwarded message declares ${length} bytes of meta but holds ${data.length - 4}`, 'frame');
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(data.subarray(4, 4 + length)));
  } catch (err) {
    throw new FrameError(`the meta of a forwarded message is not JSON: ${(err as Error).message}`, 'meta');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FrameError(`a forwarded message is malformed at '${issue.path.join('.')}': ${issue.message}`, issue.path.join('.') || 'meta');
  }
  return { meta: parsed.data, payload: data.subarray(4 + length) };
}
