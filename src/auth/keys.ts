// The node's API keys: each names a tenant, its scopes, an optional expiry and limits. Keys made
// at run time live in <data-dir>/keys.json as HMAC-SHA256 digests under the node secret (the
// same 0600 secret file as caller ids), never as the key; keys from config (--api-key,
// --admin-token) are held in memory only. The file is re-read when it changes, so a key created
// or revoked by `weft apikey` on the data dir takes effect on a running node within a second.
// In a fleet, keys made through the admin API live in the fleet's `weft_keys` bucket instead
// (SharedKeyRecords, mirrored by every node): a key made on one node works on all, and a
// revocation reaches every node as fast as the bucket's watch. A shared record cannot use the
// node secret (each node has its own), so it carries a random salt: HMAC-SHA256(salt, key).
// The key holds 256 random bits, so a keyed fast hash is as safe as a slow one, and it is
// found by the id the key spells (`weft_<id>_…`), not by trying every record.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { loadCallerSecret } from '../telemetry/index.js';
import { z } from 'zod';
import { parseScope } from './scopes.js';

export const KEYS_FILE = 'keys.json';
/** How often a request may look for a changed keys file. */
const RELOAD_CHECK_MS = 1000;

/** Limits a key carries; unset ones fall back to the node's --tenant-rate, --tenant-concurrency, --tenant-tokens-per-minute, --tenant-monthly-tokens and --tenant-monthly-joules. */
export interface KeyLimits {
  /** Requests per second for the key's tenant. */
  rate?: number;
  /** Requests the tenant may have in flight. */
  concurrency?: number;
  /** Language-model tokens (prompt and completion) per minute for the tenant. */
  tokensPerMinute?: number;
  /** Language-model tokens per calendar month (UTC) for the tenant. */
  monthlyTokens?: number;
  /** Joules per calendar month (UTC) for the tenant, as the node attributes them (measured or estimated). */
  monthlyJoules?: number;
}

export const LIMIT_FIELDS = ['rate', 'concurrency', 'tokensPerMinute', 'monthlyTokens', 'monthlyJoules'] as const;

/** The limits set in a record, and no others. */
function limitsOf(k: KeyLimits): KeyLimits {
  const out: KeyLimits = {};
  for (const f of LIMIT_FIELDS) if (k[f] !== undefined) out[f] = k[f];
  return out;
}

/** What is known of a key, without the key: safe to list, log (the id) and return. */
export interface KeyInfo extends KeyLimits {
  /** Short public id, used in logs and to revoke. */
  id: string;
  tenant: string;
  scopes: string[];
  /** ISO time. */
  createdAt: string;
  /** ISO time after which the key is refused. */
  expiresAt?: string;
  /**
   * `config` keys come from --api-key or --admin-token and cannot be revoked at run time;
   * `store` keys live in the data dir's keys.json, `fleet` keys in the fleet's key bucket.
   */
  source: 'config' | 'store' | 'fleet';
}

/** The caller of an authenticated request. */
export type Principal = Pick<KeyInfo, 'id' | 'tenant' | 'scopes' | (typeof LIMIT_FIELDS)[number]>;

interface StoredKey extends Omit<KeyInfo, 'source'> {
  /** HMAC-SHA256(node secret, key), hex. */
  hash: string;
}

/** A fleet key as the fleet's key bucket holds it (key: the id). */
export const sharedKeySchema = z.object({
  /** The fleet namespace's version (src/fleet/namespace.ts). */
  v: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{12}$/),
  tenant: z.string().max(63),
  scopes: z.array(z.string().max(256)).min(1).max(64),
  createdAt: z.string().max(64),
  expiresAt: z.string().max(64).optional(),
  rate: z.number().positive().optional(),
  concurrency: z.number().positive().optional(),
  tokensPerMinute: z.number().positive().optional(),
  monthlyTokens: z.number().positive().optional(),
  monthlyJoules: z.number().positive().optional(),
  /** Hex; HMAC key of `hash`. */
  salt: z.string().regex(/^[0-9a-f]{32}$/),
  /** HMAC-SHA256(salt, key), hex. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SharedKey = z.infer<typeof sharedKeySchema>;

/** The fleet's key bucket as the key store sees it (src/fleet implements it over JetStream KV). */
export interface SharedKeyRecords {
  get(id: string): SharedKey | undefined;
  list(): SharedKey[];
  /** How many there are (asked on every request: no list is made for it). */
  size(): number;
  /** Resolves once the bucket holds it and this node's view shows it. */
  put(record: SharedKey): Promise<void>;
  /** Resolves once the bucket and this node's view no longer hold it. */
  delete(id: string): Promise<void>;
}

/** The id a made key spells: `weft_<id>_<secret>`. */
const MADE_KEY = /^weft_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface NewKey extends KeyLimits {
  tenant: string;
  scopes: string[];
  expiresAt?: string;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function checkTenant(tenant: string, field = 'tenant'): string {
  if (!TENANT.test(tenant)) throw new WeftError(ErrorCode.BadRequest, `tenant '${tenant}' must be 1-63 letters, digits, "_", "." or "-"`, { field });
  return tenant;
}

/** A config key `TENANT:SCOPE[+SCOPE...]:KEY` (scopes hold colons: the key is after the last one). */
function parseConfigKey(entry: string): { tenant: string; scopes: string[]; key: string } {
  const first = entry.indexOf(':');
  const last = entry.lastIndexOf(':');
  if (first <= 0 || last <= first || last === entry.length - 1) {
    throw new WeftError(ErrorCode.InvalidConfig, "an --api-key entry is not TENANT:SCOPE[+SCOPE...]:KEY (e.g. acme:infer:*+metrics:KEY)", { field: 'apiKey' });
  }
  return {
    tenant: checkTenant(entry.slice(0, first), 'apiKey'),
    scopes: entry.slice(first + 1, last).split('+').map((s) => parseScope(s, 'apiKey')),
    key: entry.slice(last + 1),
  };
}

export interface KeyStoreOptions {
  dataDir: string;
  /** --api-key entries. */
  configKeys?: readonly string[];
  adminToken?: string | undefined;
  /**
   * The node joins a fleet whose key bucket comes later (`share`): until then every API asks
   * for a key, so a node never serves unauthenticated before it knows the fleet's keys.
   */
  fleet?: boolean;
  clock?: () => number;
}

export class KeyStore {
  private readonly file: string;
  private readonly configured = new Map<string, KeyInfo>();
  private stored = new Map<string, StoredKey>();
  private fileStamp = '';
  private checkedAt = 0;
  private readonly clock: () => number;
  /** The fleet's keys: `pending` until the fleet is joined. */
  private shared: SharedKeyRecords | 'pending' | undefined;

  private constructor(
    private readonly secret: Buffer,
    options: KeyStoreOptions,
  ) {
    this.file = join(options.dataDir, KEYS_FILE);
    this.clock = options.clock ?? Date.now;
    if (options.fleet === true) this.shared = 'pending';
    const now = new Date(this.clock()).toISOString();
    const add = (tenant: string, scopes: string[], key: string) => {
      const hash = this.hash(key);
      this.configured.set(hash, { id: `cfg-${hash.slice(0, 8)}`, tenant, scopes, createdAt: now, source: 'config' });
    };
    if (options.adminToken !== undefined) add('admin', ['admin'], options.adminToken);
    for (const entry of options.configKeys ?? []) {
      const k = parseConfigKey(entry);
      add(k.tenant, k.scopes, k.key);
    }
    this.reload(true);
  }

  static async open(options: KeyStoreOptions): Promise<KeyStore> {
    return new KeyStore(await loadCallerSecret(options.dataDir), options);
  }

  private hash(key: string): string {
    return createHmac('sha256', this.secret).update(`weft-api-key:${key}`).digest('hex');
  }

  /** Re-reads keys.json when its size or mtime changed (at most once a second unless forced). */
  private reload(force = false): void {
    const now = this.clock();
    if (!force && now - this.checkedAt < RELOAD_CHECK_MS) return;
    this.checkedAt = now;
    let stamp = '';
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    const next = new Map<string, StoredKey>();
    if (stamp !== '') {
      try {
        const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { keys?: StoredKey[] };
        for (const k of parsed.keys ?? []) next.set(k.hash, k);
      } catch (err) {
        throw new WeftError(ErrorCode.InvalidConfig, `${this.file} is not a keys file: ${(err as Error).message}`, { field: 'dataDir', cause: err });
      }
    }
    this.stored = next;
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, keys: [...this.stored.values()] }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
    this.fileStamp = '';
    this.reload(true);
  }

  /** Serves the fleet's keys from now on: those made through the admin API go there too. */
  share(records: SharedKeyRecords): void {
    this.shared = records;
  }

  /** Whether any key exists (or the fleet's are not known yet): then every API asks for one. */
  enabled(): boolean {
    this.reload();
    if (this.shared === 'pending') return true;
    return this.configured.size > 0 || this.stored.size > 0 || (this.shared?.size() ?? 0) > 0;
  }

  private sharedMatch(key: string): SharedKey | undefined {
    if (this.shared === undefined || this.shared === 'pending') return undefined;
    const id = MADE_KEY.exec(key)?.[1];
    const record = id === undefined ? undefined : this.shared.get(id);
    if (record === undefined) return undefined;
    const presented = createHmac('sha256', Buffer.from(record.salt, 'hex')).update(`weft-api-key:${key}`).digest();
    return timingSafeEqual(presented, Buffer.from(record.hash, 'hex')) ? record : undefined;
  }

  /** The principal of a presented key, or undefined when it is unknown, revoked or expired. */
  authenticate(key: string): Principal | undefined {
    this.reload();
    const hash = this.hash(key);
    const found = this.configured.get(hash) ?? this.stored.get(hash) ?? this.sharedMatch(key);
    if (found === undefined) return undefined;
    if (found.expiresAt !== undefined && Date.parse(found.expiresAt) <= this.clock()) return undefined;
    const { id, tenant, scopes } = found;
    return { id, tenant, scopes, ...limitsOf(found) };
  }

  /** Makes a key (in the fleet's bucket when joined, else keys.json); the key itself is in the answer only, never stored. */
  async create(spec: NewKey): Promise<{ key: string; info: KeyInfo }> {
    checkTenant(spec.tenant);
    if (spec.scopes.length === 0) throw new WeftError(ErrorCode.BadRequest, 'a key needs at least one scope (infer:NAME, admin or metrics)', { field: 'scopes' });
    const scopes = spec.scopes.map((s) => parseScope(s, 'scopes'));
    if (spec.expiresAt !== undefined && !Number.isFinite(Date.parse(spec.expiresAt))) throw new WeftError(ErrorCode.BadRequest, `expiresAt '${spec.expiresAt}' is not a time`, { field: 'expiresAt' });
    for (const f of LIMIT_FIELDS) {
      const v = spec[f];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new WeftError(ErrorCode.BadRequest, `${f} must be a number above 0`, { field: f });
    }
    const id = randomBytes(6).toString('hex');
    const key = `weft_${id}_${randomBytes(32).toString('base64url')}`;
    const info: Omit<KeyInfo, 'source'> = {
      id,
      tenant: spec.tenant,
      scopes,
      createdAt: new Date(this.clock()).toISOString(),
      ...(spec.expiresAt === undefined ? {} : { expiresAt: new Date(spec.expiresAt).toISOString() }),
      ...limitsOf(spec),
    };
    if (this.shared === 'pending') throw new WeftError(ErrorCode.FleetUnavailable, 'the fleet is not joined yet: its keys cannot be written', { retryAfterSeconds: 1 });
    if (this.shared !== undefined) {
      const salt = randomBytes(16);
      const hash = createHmac('sha256', salt).update(`weft-api-key:${key}`).digest('hex');
      await this.shared.put({ v: 1, ...info, salt: salt.toString('hex'), hash });
      return { key, info: { ...info, source: 'fleet' } };
    }
    const record: StoredKey = { ...info, hash: this.hash(key) };
    this.reload(true);
    this.stored.set(record.hash, record);
    this.save();
    return { key, info: this.infoOf(record) };
  }

  private infoOf({ hash: _hash, ...rest }: StoredKey): KeyInfo {
    return { ...rest, source: 'store' };
  }

  private sharedInfo(): KeyInfo[] {
    if (this.shared === undefined || this.shared === 'pending') return [];
    return this.shared.list().map(({ v: _v, salt: _salt, hash: _hash, ...rest }) => ({ ...rest, source: 'fleet' as const }));
  }

  list(): KeyInfo[] {
    this.reload(true);
    return [...this.configured.values(), ...[...this.stored.values()].map((k) => this.infoOf(k)), ...this.sharedInfo()];
  }

  /** Removes a stored or fleet key by id; config keys are refused (remove them from the config). */
  async revoke(id: string): Promise<KeyInfo> {
    this.reload(true);
    if ([...this.configured.values()].some((k) => k.id === id)) throw new WeftError(ErrorCode.Conflict, `key ${id} comes from the config (--api-key or --admin-token): remove it there`, { field: 'id' });
    const fleetKey = this.sharedInfo().find((k) => k.id === id);
    if (fleetKey !== undefined && this.shared !== undefined && this.shared !== 'pending') {
      await this.shared.delete(id);
      return fleetKey;
    }
    const found = [...this.stored.values()].find((k) => k.id === id);
    if (found === undefined) throw new WeftError(ErrorCode.KeyNotFound, `no key with id '${id}' (weft apikey list shows them)`, { field: 'id' });
    this.stored.delete(found.hash);
    this.save();
    return this.infoOf(found);
  }
}
