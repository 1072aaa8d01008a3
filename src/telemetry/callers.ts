// Per-caller aggregates with bounded cardinality: a caller is named by a tenant header or, else,
// its API key, and is only ever stored as a short hash. The first `topK` callers seen get their
// own series; later ones share "other" (Prometheus series cannot move between labels, so a
// slot once given is kept). /admin/stats ranks the tracked callers by requests.

import { createHash } from 'node:crypto';

export const OTHER = 'other';
export const ANONYMOUS = 'anonymous';

/** Raw keys already hashed, so a busy caller costs one Map lookup, not a sha256. */
const HASH_CACHE_SIZE = 1024;

export interface CallerTotals {
  caller: string;
  requests: number;
  errors: number;
  seconds: number;
  inputTokens: number;
  outputTokens: number;
  joules: number;
}

export class Callers {
  private readonly hashes = new Map<string, string>();
  private readonly totals = new Map<string, CallerTotals>();

  constructor(private readonly topK: number) {}

  /** The caller label for a request's tenant header or Authorization header. */
  label(tenant: string | undefined, authorization: string | undefined): string {
    const raw = tenant ? `tenant:${tenant}` : authorization ? `key:${authorization.replace(/^Bearer\s+/i, '')}` : undefined;
    if (raw === undefined) return this.slot(ANONYMOUS);
    let hashed = this.hashes.get(raw);
    if (hashed === undefined) {
      hashed = createHash('sha256').update(raw).digest('hex').slice(0, 12);
      if (this.hashes.size >= HASH_CACHE_SIZE) this.hashes.delete(this.hashes.keys().next().value!);
      this.hashes.set(raw, hashed);
    }
    return this.slot(hashed);
  }

  private slot(label: string): string {
    if (this.totals.has(label)) return label;
    // "other" is always available, beyond the k slots.
    if (this.totals.size - (this.totals.has(OTHER) ? 1 : 0) >= this.topK) label = OTHER;
    if (!this.totals.has(label)) this.totals.set(label, { caller: label, requests: 0, errors: 0, seconds: 0, inputTokens: 0, outputTokens: 0, joules: 0 });
    return label;
  }

  /** The totals of a label `label()` returned. */
  get(label: string): CallerTotals {
    return this.totals.get(label)!;
  }

  /** Tracked callers, most requests first. */
  top(): CallerTotals[] {
    return [...this.totals.values()].sort((a, b) => b.requests - a.requests);
  }
}
