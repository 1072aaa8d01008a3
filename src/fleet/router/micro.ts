// The node's forwarding endpoints announced the NATS micro way, so `nats micro ls|info|stats`
// and any micro client see every node of the fleet: answers on `$SRV.{PING,INFO,STATS}`, the
// same followed by the service's name, and by name and instance id (the node's name). The
// protocol is a few JSON answers; the one JavaScript library for it (@nats-io/services) is a
// prerelease pinned to a prerelease of nats-core, so it is answered here.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';

const SERVICE_NAME = 'weft';

/** One endpoint's counters, as a micro `$SRV.STATS` answer carries them. */
export class EndpointCounters {
  requests = 0;
  errors = 0;
  lastError = '';
  processingNs = 0;

  constructor(
    readonly name: string,
    readonly subject: string,
  ) {}

  /** Counts one message handled in `ms`; `error` when it was refused or failed. */
  record(ms: number, error?: string): void {
    this.requests++;
    this.processingNs += Math.round(ms * 1e6);
    if (error !== undefined) {
      this.errors++;
      this.lastError = error;
    }
  }
}

export interface ServiceIdentity {
  /** The instance id: the node's name, unique in its fleet. */
  id: string;
  version: string;
  description: string;
  metadata: Record<string, string>;
}

export function announce(nc: NatsConnection, identity: ServiceIdentity, endpoints: readonly EndpointCounters[]): Subscription[] {
  const started = new Date().toISOString();
  const base = { name: SERVICE_NAME, id: identity.id, version: identity.version, metadata: identity.metadata };
  const answers = {
    PING: () => ({ type: 'io.nats.micro.v1.ping_response', ...base }),
    INFO: () => ({
      type: 'io.nats.micro.v1.info_response',
      ...base,
      description: identity.description,
      endpoints: endpoints.map((e) => ({ name: e.name, subject: e.subject, metadata: {} })),
    }),
    STATS: () => ({
      type: 'io.nats.micro.v1.stats_response',
      ...base,
      started,
      endpoints: endpoints.map((e) => ({
        name: e.name,
        subject: e.subject,
        num_requests: e.requests,
        num_errors: e.errors,
        last_error: e.lastError,
        processing_time: e.processingNs,
        average_processing_time: e.requests === 0 ? 0 : Math.round(e.processingNs / e.requests),
      })),
    }),
  };
  const subs: Subscription[] = [];
  for (const [verb, answer] of Object.entries(answers)) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${SERVICE_NAME}`, `$SRV.${verb}.${SERVICE_NAME}.${identity.id}`]) {
      subs.push(
        nc.subscribe(subject, {
          callback: (err, msg) => {
            if (!err && msg.reply) msg.respond(JSON.stringify(answer()));
          },
        }),
      );
    }
  }
  return subs;
}
