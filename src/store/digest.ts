// sha256 digests as OCI writes them ("sha256:<64 hex>"): parsing, hashing bytes and streaming
// files, so no caller ever holds a large blob in memory to learn its digest.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ErrorCode, WeftError } from '../errors.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The hex part of a digest; anything but sha256 is refused (the only algorithm we write). */
export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new WeftError(ErrorCode.InvalidReference, `'${digest}' is not a sha256 digest (sha256:<64 hex digits>)`);
  return m[1]!;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Digest and size of a file, streamed. */
export async function digestFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
