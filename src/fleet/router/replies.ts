// Where a router's forwards get their response frames: one wildcard subscription on an inbox
// prefix of this router's own, a subject per forward under it. A subscription per forward would
// cost a SUB and an UNSUB per request, and each travels to every server of the NATS cluster and
// across its leaf nodes.

import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** The frames of one forward, in order, as they come. */
export class ReplyQueue {
  private readonly held: Msg[] = [];
  private waiter: ((r: IteratorResult<Msg, undefined>) => void) | undefined;
  private done = false;

  constructor(
    readonly subject: string,
    private readonly release: () => void,
  ) {}

  next(): Promise<IteratorResult<Msg, undefined>> {
    const msg = this.held.shift();
    if (msg !== undefined) return Promise.resolve({ done: false, value: msg });
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  push(msg: Msg): void {
    if (this.done) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter({ done: false, value: msg });
    else this.held.push(msg);
  }

  /** No more frames will come: a waiting `next` ends. */
  end(): void {
    this.done = true;
    this.held.length = 0;
    this.waiter?.({ done: true, value: undefined });
    this.waiter = undefined;
  }

  /** This forward is over: later frames to its subject are dropped. */
  unsubscribe(): void {
    this.end();
    this.release();
  }
}

export class ReplyInboxes {
  private sub: Subscription | undefined;
  private readonly prefix = createInbox();
  private seq = 0;
  private readonly waiting = new Map<string, ReplyQueue>();

  constructor(private readonly nc: NatsConnection) {}

  /** A fresh reply subject and the queue its frames arrive on. */
  take(): ReplyQueue {
    if (this.sub === undefined) {
      const sub = this.nc.subscribe(`${this.prefix}.*`, {
        callback: (err, msg) => {
          if (err === null) this.waiting.get(msg.subject)?.push(msg);
        },
      });
      this.sub = sub;
      // The connection closed: no frame will come to anyone waiting.
      void sub.closed.then(() => {
        if (this.sub === sub) this.sub = undefined;
        for (const q of this.waiting.values()) q.end();
      });
    }
    const subject = `${this.prefix}.${++this.seq}`;
    const queue = new ReplyQueue(subject, () => this.waiting.delete(subject));
    this.waiting.set(subject, queue);
    return queue;
  }

  close(): void {
    this.sub?.unsubscribe();
    for (const q of this.waiting.values()) q.end();
  }
}
