import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { assembleMessagesWhole } from './message-assembly.js';

type Decoder = { write(data: Buffer): Buffer[] };
const { StreamDecoder } = createRequire(import.meta.url)('@grpc/grpc-js/build/src/stream-decoder.js') as { StreamDecoder: { new (max: number): Decoder; prototype: Decoder } };
// grpc-js's own, kept before it is replaced, to compare against.
const original = StreamDecoder.prototype.write;

/** A gRPC frame: compressed flag, 4-byte length, the message. */

function framed(message: Buffer, compressed = 0): Buffer {
  const out = Buffer.alloc(message.length + 5);
  out[0] = compressed;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

/** Feeds `stream` in pieces cut at random places; returns every message decoded. */
function decode(write: (this: Decoder, data: Buffer) => Buffer[], stream: Buffer, next: () => number, max = -1): Buffer[] {
  const decoder = new StreamDecoder(max);
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = 1 + Math.floor(next() * Math.min(stream.length - at, next() < 0.2 ? 8 : 70_000));
    out.push(...write.call(decoder, stream.subarray(at, at + n)));
    at += n;
  }
  return out;
}

describe("grpc-js's message assembly, one buffer per message", () => {
  assert.equal(assembleMessagesWhole(), undefined, 'the decoder has the shape this was written for');
  const patched = StreamDecoder.prototype.write;
  assert.notEqual(patched, original);

  it('decodes what grpc-js decodes, however the bytes are cut', () => {
    const next = random(7);
    for (let round = 0; round < 40; round++) {
      const sizes = Array.from({ length: 1 + Math.floor(next() * 6) }, () => (next() < 0.3 ? 0 : next() < 0.2 ? 1_100_000 + Math.floor(next() * 200_000) : Math.floor(next() * 3000)));
      const messages = sizes.map((n, i) => framed(Buffer.alloc(n, (i * 37 + round) % 251), i % 2));
      const stream = Buffer.concat(messages);
      const ours = decode(patched, stream, random(round));
      const theirs = decode(original, stream, random(round + 1000));
      assert.deepEqual(ours.map((b) => b.toString('hex')), theirs.map((b) => b.toString('hex')));
      assert.deepEqual(ours.map((b) => b.length), messages.map((m) => m.length));
    }
  });

  it('gives a large message a buffer of its own, and refuses one over the limit as grpc-js does', () => {
    const [large] = decode(patched, framed(Buffer.alloc(2 * 1024 * 1024, 3)), random(1));
    assert.equal(large!.byteOffset, 0);
    assert.equal(large!.buffer.byteLength, large!.length);
    assert.throws(() => decode(patched, framed(Buffer.alloc(100)), random(2), 99), /Received message larger than max \(100 vs 99\)/);
    assert.throws(() => decode(original, framed(Buffer.alloc(100)), random(2), 99), /Received message larger than max \(100 vs 99\)/);
  });

  it('is given once', () => {
    assert.equal(assembleMessagesWhole(), undefined);
    assert.equal(StreamDecoder.prototype.write, patched);
  });
});
