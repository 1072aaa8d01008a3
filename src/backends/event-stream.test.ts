import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventStream } from './event-stream.js';

const join = (a: string, b: string) => (a.startsWith('!') || b.startsWith('!') ? undefined : a + b);

describe('eventStream', () => {
  it('delivers events in order, merging what piled up, then the producer’s error', async () => {
    const stream = eventStream<string>(async (push) => {
      push('a');
      push('b');
      push('!end');
      throw new Error('boom');
    }, join);
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const e of stream) seen.push(e);
    }, /boom/);
    assert.deepEqual(seen, ['ab', '!end']);
  });

  it('return() waits for the producer to let go', async () => {
    let released = false;
    const stop = new AbortController();
    const stream = eventStream<string>(async (push) => {
      push('x');
      await new Promise((resolve) => stop.signal.addEventListener('abort', resolve));
      released = true;
    });
    const it = stream[Symbol.asyncIterator]();
    assert.equal((await it.next()).value, 'x');
    stop.abort();
    await it.return!();
    assert.equal(released, true);
  });
});
