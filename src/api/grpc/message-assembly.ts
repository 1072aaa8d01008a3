// grpc-js (1.14, pinned) assembles each received message as a list of slices of the HTTP/2 DATA
// chunks it came in, then concatenates them: the same pattern that left glibc's heap fragmented
// for HTTP bodies (src/http/request-body.ts): twelve 60 MB ModelInfer messages at once left the
// node 673 MiB larger for good, sixty 3.5 GB (glibc's main heap; bench/MEMORY.md). Its StreamDecoder is therefore given a `write` that copies each message's bytes
// into one buffer of the length its prefix announces, as they arrive. Same framing, same
// checks, same result (the 5-byte prefix and the message, in one Buffer). grpc-js has no option
// for this; the class is checked for the shape this was written against, and left alone (with
// the node's log saying so) if it has another.

import { createRequire } from 'node:module';
import { LARGE_BODY_BYTES } from '../../http/index.js';

interface DecoderState {
  maxReadMessageLength: number;
  readState: number;
  /** The message being read: its 5-byte prefix, then its bytes (ours; grpc-js's slices list is left empty). */
  assembling?: Buffer;
  filled?: number;
  readPartialSize: Buffer;
  readSizeRemaining: number;
  readCompressFlag: Buffer;
}

const NO_DATA = 0;
const READING_SIZE = 1;
const READING_MESSAGE = 2;

function write(this: DecoderState, data: Buffer): Buffer[] {
  const result: Buffer[] = [];
  let head = 0;
  while (head < data.length) {
    switch (this.readState) {
      case NO_DATA:
        this.readCompressFlag = data.subarray(head, head + 1);
        head += 1;
        this.readState = READING_SIZE;
        this.readPartialSize.fill(0);
        this.readSizeRemaining = 4;
        break;
      case READING_SIZE: {
        const n = Math.min(data.length - head, this.readSizeRemaining);
        data.copy(this.readPartialSize, 4 - this.readSizeRemaining, head, head + n);
        this.readSizeRemaining -= n;
        head += n;
        if (this.readSizeRemaining > 0) break;
        const size = this.readPartialSize.readUInt32BE(0);
        if (this.maxReadMessageLength !== -1 && size > this.maxReadMessageLength) {
          throw new Error(`Received message larger than max (${size} vs ${this.maxReadMessageLength})`);
        }
        // A large message gets a buffer of its own (not a slice of Node's pool), freed whole.
        const framed = size + 5 >= LARGE_BODY_BYTES ? Buffer.allocUnsafeSlow(size + 5) : Buffer.allocUnsafe(size + 5);
        framed[0] = this.readCompressFlag[0]!;
        this.readPartialSize.copy(framed, 1);
        if (size === 0) {
          result.push(framed);
          this.readState = NO_DATA;
        } else {
          this.assembling = framed;
          this.filled = 5;
          this.readState = READING_MESSAGE;
        }
        break;
      }
      case READING_MESSAGE: {
        const framed = this.assembling!;
        const n = Math.min(data.length - head, framed.length - this.filled!);
        data.copy(framed, this.filled, head, head + n);
        this.filled! += n;
        head += n;
        if (this.filled === framed.length) {
          result.push(framed);
          this.assembling = undefined;
          this.readState = NO_DATA;
        }
        break;
      }
      default:
        throw new Error('Unexpected read state');
    }
  }
  return result;
}

/** Gives grpc-js's StreamDecoder the assembling `write`; returns why not when its shape is not the one known. */
export function assembleMessagesWhole(): string | undefined {
  const require = createRequire(import.meta.url);
  let decoder: { StreamDecoder?: { new (max: number): DecoderState & { write: unknown }; prototype: { write: unknown } } };
  try {
    decoder = require('@grpc/grpc-js/build/src/stream-decoder.js') as typeof decoder;
  } catch (err) {
    return `grpc-js's stream decoder was not found (${(err as Error).message})`;
  }
  const Decoder = decoder.StreamDecoder;
  if (Decoder === undefined) return "grpc-js's stream decoder has another shape";
  if (Decoder.prototype.write === write) return undefined;
  const probe = new Decoder(-1);
  const known = probe.readState === NO_DATA && probe.readPartialSize instanceof Buffer && probe.readPartialSize.length === 4 && probe.maxReadMessageLength === -1 && Array.isArray((probe as unknown as { readPartialMessage?: unknown }).readPartialMessage);
  if (!known) return "grpc-js's stream decoder has another shape";
  Decoder.prototype.write = write;
  return undefined;
}
