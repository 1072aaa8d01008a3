// `weft apikey create|list|revoke`: API keys on the node's data dir (keys.json, read by a running
// node within a second), or through a running node's admin API with --url. A new key is shown
// once, on the last line of the output; only its HMAC is kept.

import { KeyStore, type KeyInfo, type NewKey } from '../auth/index.js';
import { parseDuration } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { commandConfig } from './bundle-commands.js';
import { admin, table } from './fleet-commands.js';

const USAGE = 'weft apikey create --tenant T --scope S [--scope S ...] [--expires 30d|ISO-TIME] [--rate N] [--concurrency N] [--tokens-per-minute N] [--monthly-tokens N] [--monthly-joules J] | list | revoke ID  [--url NODE --token ADMIN-KEY] [--data-dir DIR]';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `30d`, `12h`, `90m` (or any node duration) from now, or an ISO time. */
export function parseExpiry(raw: string, now = Date.now()): string {
  const days = /^(\d+)d$/.exec(raw.trim());
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(raw);
  if (ms !== undefined && ms > 0) return new Date(now + ms).toISOString();
  const at = Date.parse(raw);
  if (!Number.isFinite(at)) throw new WeftError(ErrorCode.BadRequest, `--expires '${raw}' is not a duration (30d, 12h) or an ISO time`, { field: 'expires' });
  return new Date(at).toISOString();
}

function positiveNumber(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new WeftError(ErrorCode.BadRequest, `--${flag} '${raw}' must be a number above 0`, { field: flag });
  return n;
}

function describe(k: KeyInfo): string[] {
  return [k.id, k.tenant, k.scopes.join(' '), k.expiresAt ?? '-', [k.rate === undefined ? '' : `${k.rate}/s`, k.concurrency === undefined ? '' : `${k.concurrency} at once`, k.tokensPerMinute === undefined ? '' : `${k.tokensPerMinute} tokens/min`, k.monthlyTokens === undefined ? '' : `${k.monthlyTokens} tokens/month`, k.monthlyJoules === undefined ? '' : `${k.monthlyJoules} J/month`].filter(Boolean).join(', ') || '-', k.source];
}

export async function apikeyCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, {
    tenant: { type: 'string' },
    scope: { type: 'string', multiple: true },
    expires: { type: 'string' },
    rate: { type: 'string' },
    concurrency: { type: 'string' },
    'tokens-per-minute': { type: 'string' },
    'monthly-tokens': { type: 'string' },
    'monthly-joules': { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
  });
  const [action, ...rest] = positionals;
  const url = flags.url as string | undefined;
  const remote = url === undefined ? undefined : { url: url.replace(/\/+$/, ''), token: (flags.token as string | undefined) ?? process.env.WEFT_ADMIN_TOKEN };
  const local = async () => KeyStore.open({ dataDir: config.dataDir });
  switch (action) {
    case 'create': {
      const tenant = flags.tenant as string | undefined;
      const scopes = (flags.scope as string[] | undefined) ?? [];
      if (tenant === undefined || scopes.length === 0) throw new WeftError(ErrorCode.BadRequest, `create needs --tenant and at least one --scope\nusage: ${USAGE}`, { field: tenant === undefined ? 'tenant' : 'scope' });
      const rate = positiveNumber(flags.rate as string | undefined, 'rate');
      const concurrency = positiveNumber(flags.concurrency as string | undefined, 'concurrency');
      const tokensPerMinute = positiveNumber(flags['tokens-per-minute'] as string | undefined, 'tokens-per-minute');
      const monthlyTokens = positiveNumber(flags['monthly-tokens'] as string | undefined, 'monthly-tokens');
      const monthlyJoules = positiveNumber(flags['monthly-joules'] as string | undefined, 'monthly-joules');
      const spec: NewKey = {
        tenant,
        scopes,
        ...(flags.expires === undefined ? {} : { expiresAt: parseExpiry(flags.expires as string) }),
        ...(rate === undefined ? {} : { rate }),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(tokensPerMinute === undefined ? {} : { tokensPerMinute }),
        ...(monthlyTokens === undefined ? {} : { monthlyTokens }),
        ...(monthlyJoules === undefined ? {} : { monthlyJoules }),
      };
      const made = remote === undefined ? await local().then((keys) => keys.create(spec)) : await admin(remote, 'POST', '/admin/keys', spec).then((r: KeyInfo & { key: string }) => ({ key: r.key, info: r }));
      out(`created key ${made.info.id} for tenant '${made.info.tenant}' with ${made.info.scopes.join(', ')}${made.info.expiresAt ? `, expires ${made.info.expiresAt}` : ''}`);
      out('it is shown once, here; only its hash is kept:');
      out(made.key);
      return;
    }
    case 'list': {
      const keys: KeyInfo[] = remote === undefined ? (await local()).list() : ((await admin(remote, 'GET', '/admin/keys')) as { keys: KeyInfo[] }).keys;
      out(keys.length === 0 ? 'no API keys: auth is off on loopback (weft apikey create makes one)' : table(['ID', 'TENANT', 'SCOPES', 'EXPIRES', 'LIMITS', 'SOURCE'], keys.map(describe)));
      return;
    }
    case 'revoke': {
      if (rest.length !== 1) throw new WeftError(ErrorCode.BadRequest, `revoke needs one key id (weft apikey list shows them)\nusage: ${USAGE}`, { field: 'id' });
      const revoked: KeyInfo = remote === undefined ? await (await local()).revoke(rest[0]!) : ((await admin(remote, 'DELETE', `/admin/keys/${encodeURIComponent(rest[0]!)}`)) as { revoked: KeyInfo }).revoked;
      out(`revoked key ${revoked.id} of tenant '${revoked.tenant}'`);
      return;
    }
    default:
      throw new WeftError(ErrorCode.BadRequest, `usage: ${USAGE}`);
  }
}
