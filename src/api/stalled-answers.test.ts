import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { StallWatch } from './stalled-answers.js';
import { createLogger, type Telemetry } from '../telemetry/index.js';

/** A writer whose unsent bytes the test sets. */
class FakeOut extends EventEmitter {
  writableLength = 0;
  ended = false;
  destroy(): void {
    this.ended = true;
    this.emit('close');
  }
}

function watch(ms: number) {
  let dropped = 0;
  const telemetry = { metrics: { stalledAnswers: { inc: () => dropped++ } } } as unknown as Telemetry;
  return { stalls: new StallWatch(ms, telemetry, createLogger('error')), dropped: () => dropped };
}

describe('StallWatch (--send-timeout)', () => {
  it('ends a writer whose unsent bytes stay put for the timeout, and counts it', async () => {
    const { stalls, dropped } = watch(100);
    const stuck = new FakeOut();
    const idle = new FakeOut();
    stalls.watch(stuck);
    stalls.watch(idle);
    stuck.writableLength = 1_000_000;
    await sleep(400);
    assert.equal(stuck.ended, true);
    assert.equal(idle.ended, false, 'nothing unsent: nothing to wait for');
    assert.equal(dropped(), 1);
  });

  it('keeps a slow writer whose unsent bytes keep going down, and ends it by the given function', async () => {
    const { stalls } = watch(500);
    const slow = new FakeOut();
    let endedBy = '';
    stalls.watch(slow, () => (endedBy = 'cancel'));
    slow.writableLength = 1_000_000;
    for (let i = 0; i < 10; i++) {
      await sleep(50);
      slow.writableLength -= 1000;
    }
    assert.equal(endedBy, '');
    await sleep(1200);
    assert.equal(endedBy, 'cancel');
  });

  it('watches nothing with a timeout of 0', async () => {
    const { stalls } = watch(0);
    const out = new FakeOut();
    stalls.watch(out);
    out.writableLength = 10;
    await sleep(200);
    assert.equal(out.ended, false);
  });
});
