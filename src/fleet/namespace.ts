// The fleet's NATS namespace, version 1: every bucket, key and subject the fleet uses, in one
// place, so docs/fleet.md and `nats` tooling can name them. A breaking change to any message
// schema bumps FLEET_VERSION and the names that carry it.

export const FLEET_VERSION = 1;

export const Buckets = {
  /** Key `<node>` → NodeRecord: inventory and heartbeat. Bucket max-age is the liveness TTL. */
  nodes: 'weft_nodes',
  /** Key `<app>` → AppSpec: desired state, written by `weft deploy` with compare-and-set. */
  apps: 'weft_apps',
  /** Key `<app>` → Placement: where replicas go; one writer, the scheduler holding the lease. */
  placements: 'weft_placements',
  /** Key `scheduler` → Lease; bucket max-age is the lease TTL. */
  lease: 'weft_lease',
  /** Key `<key id>` → SharedKey (src/auth): API keys made through any node's admin API, salted hashes only. */
  keys: 'weft_keys',
  /** Key `rate.<tenant>` / `tokens.<tenant>` → a tenant's bucket `{level, at}`, revision-checked; max-age one hour. */
  quota: 'weft_quota',
  /** Key `<tokens|joules>.<YYYY-MM>.<tenant>` → `{total}`: a tenant's use this month (UTC), revision-checked adds; max-age 62 days. */
  usage: 'weft_usage',
  /** Key `<tenant>.<node>` → `{n}`: a capped tenant's requests in flight on that node, its only writer; max-age three heartbeats. */
  inflight: 'weft_inflight',
} as const;

export const LEASE_KEY = 'scheduler';

/** Node names, sites and app names become KV keys and subject tokens: keep them to this set. */
export const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** Subjects of the fleet (part 2, routing, serves `infer` on each node). */
export const Subjects = {
  /** Request-reply to one node's router (Fleet, part 2). */
  infer: (site: string, node: string) => `weft.v${FLEET_VERSION}.${site}.${node}.infer`,
  /** Published to one node: stop answering a forward whose caller went away. */
  cancel: (site: string, node: string) => `weft.v${FLEET_VERSION}.${site}.${node}.cancel`,
  /** Every KV change of a bucket, as JetStream stores it. */
  bucket: (bucket: string) => `$KV.${bucket}.>`,
};
