import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { ReplyQueue } from './replies.js';

const msg = (n: number) => ({ data: new Uint8Array([n]) }) as unknown as Msg;

test('a reply queue hands frames out in order, whether they come before or after they are asked for', async () => {
  let released = 0;
  const q = new ReplyQueue('_INBOX.x.1', () => released++);
  q.push(msg(1));
  q.push(msg(2));
  const third = q.next().then(() => q.next()).then(() => q.next());
  q.push(msg(3));
  assert.deepEqual((await third).value?.data, new Uint8Array([3]));
  const waiting = q.next();
  q.unsubscribe();
  assert.equal((await waiting).done, true, 'a forward given up ends its wait');
  q.push(msg(4));
  assert.equal((await q.next()).done, true, 'frames after the end are dropped');
  assert.equal(released, 1);
});
