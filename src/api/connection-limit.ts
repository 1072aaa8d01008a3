// What connections may hold. --max-connections: the connections the node's APIs hold open at
// once, HTTP's and gRPC's together — both take descriptors from the same open-file limit, and a
// flood of idle ones on either port must not take those the node needs for its models, store and
// fleet. Past the limit a new connection is closed as it arrives, before anything reads from it;
// each such drop is counted (weft_connections_dropped_total) and said in the log at most every
// 10 s. --send-timeout: an answer its client does not take (cutStalledReaders), counted in
// weft_stalled_connections_closed_total.

import type { Server, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Logger, Telemetry } from '../telemetry/index.js';

const WARN_EVERY_MS = 10_000;

/** A warning said at most every WARN_EVERY_MS, with how many times it happened meanwhile. */
function occasionalWarning(log: Logger, message: string, fields: Record<string, unknown>): () => void {
  let since = 0;
  let warnedAt = -Infinity;
  return () => {
    since++;
    if (performance.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = performance.now();
    log.warn(message, { ...fields, since_last_warning: since });
    since = 0;
  };
}

export class ConnectionLimit {
  private open = 0;
  private readonly warn: () => void;

  /** `max`: connections at once; 0 for no limit. */
  constructor(
    readonly max: number,
    private readonly telemetry: Telemetry,
    log: Logger,
  ) {
    this.warn = occasionalWarning(log, 'connection refused: --max-connections are open', { max });
  }

  /** Counts `socket` in, or closes it when the limit is reached; true when it may be served. */
  admit(socket: Socket): boolean {
    if (this.max <= 0) return true;
    if (this.open >= this.max) {
      socket.destroy();
      this.dropped();
      return false;
    }
    this.open++;
    socket.once('close', () => this.open--);
    return true;
  }

  /** Holds every connection `server` accepts to the limit, ahead of the server's own handling. */
  guard(server: Server): void {
    if (this.max > 0) server.prependListener('connection', (socket: Socket) => void this.admit(socket));
  }

  private dropped(): void {
    this.telemetry.metrics.droppedConnections.inc();
    this.warn();
  }
}

/**
 * Closes each connection of `server` whose unsent answer has not moved for `ms` (0: never). A
 * client that asks and never reads would hold its answer in the node, past what the kernel takes,
 * for as long as the connection stays open: keep-alive and request timeouts do not apply while
 * an answer is being written. nginx's send_timeout, for the same reason.
 */
export function cutStalledReaders(server: Server, ms: number, telemetry: Telemetry, log: Logger): void {
  if (ms <= 0) return;
  const warn = occasionalWarning(log, 'connection closed: its client read none of its answer for --send-timeout', { send_timeout_ms: ms });
  /** Each connection's unsent bytes at the last look, and since when they have not gone down. */
  const watched = new Map<Socket, { unsent: number; since: number }>();
  // Over TLS the raw socket's own buffer stays empty (TLS writes below it): watch the TLS socket.
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    watched.set(socket, { unsent: 0, since: performance.now() });
    socket.once('close', () => watched.delete(socket));
  });
  const look = setInterval(() => {
    const now = performance.now();
    for (const [socket, w] of watched) {
      const unsent = socket.writableLength;
      const moved = unsent === 0 || unsent < w.unsent;
      w.unsent = unsent;
      if (moved) w.since = now;
      else if (now - w.since >= ms) {
        watched.delete(socket);
        socket.destroy();
        telemetry.metrics.stalledConnections.inc();
        warn();
      }
    }
  }, Math.max(50, Math.min(1000, ms / 4)));
  look.unref();
  server.once('close', () => clearInterval(look));
}
