// --send-timeout: answers their clients do not take. A client that asks and never reads would
// hold its answer in the node, past what the kernel takes, for as long as it keeps the
// connection: keep-alive and request timeouts do not apply while an answer is being written. The
// same over gRPC, where HTTP/2 flow control holds each call's answer in the node while the client
// does not take it. As nginx's send_timeout: a connection (HTTP) or a call's stream (gRPC) whose
// unsent bytes have not gone down for the timeout is closed, and what it held with it; each is
// counted in weft_stalled_answers_dropped_total and said in the log at most every 10 s.

import type { Server } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { occasionalWarning, type Logger, type Telemetry } from '../telemetry/index.js';

/** A socket or an HTTP/2 stream: what is written to it and not yet sent, and how to end it. */
interface Outgoing {
  readonly writableLength: number;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

export class StallWatch {
  /** Each writer's unsent bytes at the last look, and since when they have not gone down. */
  private readonly watched = new Map<Outgoing, { unsent: number; since: number; end: () => void }>();
  private look: NodeJS.Timeout | undefined;
  private readonly warn: () => void;

  /** `ms`: how long unsent bytes may stay put; 0 for no limit. */
  constructor(
    readonly ms: number,
    private readonly telemetry: Telemetry,
    log: Logger,
  ) {
    this.warn = occasionalWarning(log, 'answer dropped: its client read none of it for --send-timeout', { send_timeout_ms: ms });
  }

  /** Ends `out` (by `end`, else destroyed) once what is written to it stops going out for the timeout. */
  watch(out: Outgoing, end: () => void = () => out.destroy()): void {
    if (this.ms <= 0) return;
    this.watched.set(out, { unsent: 0, since: performance.now(), end });
    out.once('close', () => this.watched.delete(out));
    if (this.look === undefined) {
      this.look = setInterval(() => this.check(), Math.max(50, Math.min(1000, this.ms / 4)));
      this.look.unref();
    }
  }

  /** Watches every connection `server` accepts (over TLS its TLS socket: the raw one's buffer stays empty). */
  watchConnections(server: Server): void {
    if (this.ms > 0) server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket) => this.watch(socket));
  }

  private check(): void {
    const now = performance.now();
    for (const [out, w] of this.watched) {
      const unsent = out.writableLength;
      const moved = unsent === 0 || unsent < w.unsent;
      w.unsent = unsent;
      if (moved) w.since = now;
      else if (now - w.since >= this.ms) {
        this.watched.delete(out);
        w.end();
        this.telemetry.metrics.stalledAnswers.inc();
        this.warn();
      }
    }
  }
}
