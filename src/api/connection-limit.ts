// --max-connections: the connections the node's APIs hold open at once, HTTP's and gRPC's
// together — both take descriptors from the same open-file limit, and a flood of idle ones on
// either port must not take those the node needs for its models, store and fleet. Past the limit
// a new connection is closed as it arrives, before anything reads from it; each such drop is
// counted (weft_connections_dropped_total) and said in the log at most every 10 s.

import type { Server, Socket } from 'node:net';
import { occasionalWarning, type Logger, type Telemetry } from '../telemetry/index.js';

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

