// Per-caller aggregates with bounded cardinality: a caller is named by a tenant header or, else,
// its API key, and is only ever stored as a keyed hash (HMAC with the node's secret, so an id on
// /metrics cannot be checked against guessed keys). The first `topK` callers seen get their own
// series; later ones share "other" (a slot once given is kept). /admin/stats ranks them by requests.

import { createHmac, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';

export const OTHER = 'other';
export const ANONYMOUS = 'anonymous';
/** Caller of work that ran for no request (a model call made outside any request scope). */
export const INTERNAL = '_internal';

/** File in the data folder holding the caller-id key. */
export const CALLER_SECRET_FILE = 'caller-secret';

/** Raw keys already hashed, so a busy caller costs one Map lookup, not an HMAC. */
const HASH_CACHE_SIZE = 1024;

export interface CallerTotals {
  caller: string;
  /** The tenant's name, for tenants listed in `--caller-names`. */
  name?: string;
  requests: number;
  errors: number;
  seconds: number;
  inputTokens: number;
  outputTokens: number;
  joules: number;
}

/** The node's caller-id key: read from the data folder, or created there on first start. */
export async function loadCallerSecret(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, CALLER_SECRET_FILE);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(tmp, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    // link() puts the whole file in place or fails with EEXIST: of two nodes starting at once
    // on one folder, one key wins and both read it.
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new WeftError(ErrorCode.InvalidConfig, `cannot create the caller-id key ${file}: ${(err as Error).message}`, { field: 'dataDir', cause: err });
    }
  } finally {
    await rm(tmp, { force: true });
  }
  const hex = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new WeftError(ErrorCode.InvalidConfig, `${file} is not a caller-id key (64 hex digits); delete it to make a new one`, { field: 'dataDir' });
  return Buffer.from(hex, 'hex');
}

/** The id of a caller: HMAC-SHA256(key, "tenant:" + header value, or "key:" + API key), first 12 hex digits. */
export function callerId(secret: Buffer, raw: string): string {
  return createHmac('sha256', secret).update(raw).digest('hex').slice(0, 12);
}

export class Callers {
  private readonly hashes = new Map<string, string>();
  private readonly totals = new Map<string, CallerTotals>();
  private readonly named = new Map<string, string>();

  constructor(
    private readonly topK: number,
    private readonly secret: Buffer,
    names: readonly string[] = [],
  ) {
    for (const name of names) this.named.set(callerId(secret, `tenant:${name}`), name);
  }

  /** The caller label for a request's tenant header or Authorization header. */
  label(tenant: string | undefined, authorization: string | undefined): string {
    const raw = tenant ? `tenant:${tenant}` : authorization ? `key:${authorization.replace(/^Bearer\s+/i, '')}` : undefined;
    if (raw === undefined) return this.slot(ANONYMOUS);
    let hashed = this.hashes.get(raw);
    if (hashed === undefined) {
      hashed = callerId(this.secret, raw);
      if (this.hashes.size >= HASH_CACHE_SIZE) this.hashes.delete(this.hashes.keys().next().value!);
      this.hashes.set(raw, hashed);
    }
    return this.slot(hashed);
  }

  /** The ids of the tenants named in `--caller-names`, whether or not they have called yet. */
  names(): Array<{ tenant: string; caller: string }> {
    return [...this.named].map(([caller, tenant]) => ({ tenant, caller })).sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  private slot(label: string): string {
    if (this.totals.has(label)) return label;
    // "other" is always available, beyond the k slots.
    if (this.totals.size - (this.totals.has(OTHER) ? 1 : 0) >= this.topK) label = OTHER;
    if (!this.totals.has(label)) {
      const name = this.named.get(label);
      this.totals.set(label, { caller: label, ...(name !== undefined && { name }), requests: 0, errors: 0, seconds: 0, inputTokens: 0, outputTokens: 0, joules: 0 });
    }
    return label;
  }

  /** The totals of a label `label()` returned (undefined for INTERNAL, which has no requests). */
  get(label: string): CallerTotals | undefined {
    return this.totals.get(label);
  }

  /** Tracked callers, most requests first. */
  top(): CallerTotals[] {
    return [...this.totals.values()].sort((a, b) => b.requests - a.requests);
  }
}
