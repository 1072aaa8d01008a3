// The keys' admin API, behind the admin scope like all of /admin: list (`GET /admin/keys`),
// create (`POST /admin/keys {"tenant", "scopes", "expiresAt"?, "rate"?, "concurrency"?, "tokensPerMinute"?, "monthlyTokens"?, "monthlyJoules"?}`, the
// key in the answer once) and revoke (`DELETE /admin/keys/{id}`).

import { Hono } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';
import { readJsonBody } from '../http/index.js';
import { LIMIT_FIELDS, type KeyStore, type NewKey } from './keys.js';

function newKeyOf(body: unknown): NewKey {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WeftError(ErrorCode.BadRequest, 'body must be {"tenant": T, "scopes": [...]}');
  const b = body as Record<string, unknown>;
  if (typeof b.tenant !== 'string') throw new WeftError(ErrorCode.BadRequest, 'tenant must be a string', { field: 'tenant' });
  if (!Array.isArray(b.scopes) || !b.scopes.every((s) => typeof s === 'string')) throw new WeftError(ErrorCode.BadRequest, 'scopes must be a list of strings', { field: 'scopes' });
  if (b.expiresAt !== undefined && typeof b.expiresAt !== 'string') throw new WeftError(ErrorCode.BadRequest, 'expiresAt must be an ISO time', { field: 'expiresAt' });
  for (const f of LIMIT_FIELDS) if (b[f] !== undefined && typeof b[f] !== 'number') throw new WeftError(ErrorCode.BadRequest, `${f} must be a number`, { field: f });
  return {
    tenant: b.tenant,
    scopes: b.scopes as string[],
    ...(b.expiresAt === undefined ? {} : { expiresAt: b.expiresAt as string }),
    ...Object.fromEntries(LIMIT_FIELDS.filter((f) => b[f] !== undefined).map((f) => [f, b[f] as number])),
  };
}

export function keyRoutes(keys: KeyStore): Hono {
  const app = new Hono();
  app.get('/admin/keys', (c) => c.json({ keys: keys.list() }));
  app.post('/admin/keys', async (c) => {
    const { key, info } = await keys.create(newKeyOf(await readJsonBody(c)));
    return c.json({ ...info, key }, 201);
  });
  app.delete('/admin/keys/:id', async (c) => c.json({ revoked: await keys.revoke(c.req.param('id')) }));
  return app;
}
