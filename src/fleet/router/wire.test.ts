import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkSchema, frame, FrameError, unframe } from './wire.js';

test('a frame carries its meta and raw payload bytes', () => {
  const payload = new Uint8Array([0, 1, 255]);
  const { meta, payload: out } = unframe(chunkSchema, frame({ v: 1, kind: 'chunk', seq: 3 }, payload));
  assert.deepEqual(meta, { v: 1, kind: 'chunk', seq: 3 });
  assert.deepEqual([...out], [0, 1, 255]);
});

test('malformed frames are a FrameError naming what is wrong, never a crash', () => {
  const fail = (data: Uint8Array, field: string) =>
    assert.throws(() => unframe(chunkSchema, data), (err: unknown) => err instanceof FrameError && err.field === field);
  fail(new Uint8Array([1]), 'frame');
  fail(new Uint8Array([0, 0, 0, 50, 123]), 'frame');
  fail(new Uint8Array([0, 0, 0, 1, 123]), 'meta');
  fail(frame({ v: 2, kind: 'chunk', seq: 0 }), 'v');
  fail(frame({ v: 1, kind: 'chunk', seq: -1 }), 'seq');
});
