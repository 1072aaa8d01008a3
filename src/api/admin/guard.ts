// Who may take admin actions (deploy and remove apps, load and unload models, read live stats):
// the holder of the admin token when one is set, otherwise loopback clients only. One guard,
// mounted on /admin and on the repository extension's load and unload.

import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { ErrorCode, WeftError } from '../../errors.js';

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Middleware refusing anyone but the admin with 403 FORBIDDEN. */
export function adminGuard(adminToken: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (adminToken !== undefined) {
      const header = c.req.header('authorization') ?? '';
      if (!header.startsWith('Bearer ') || !tokenMatches(header.slice(7), adminToken)) {
        throw new WeftError(ErrorCode.Forbidden, 'admin actions need "Authorization: Bearer <admin token>" (--admin-token)');
      }
    } else if (!isLoopback(getConnInfo(c).remote.address)) {
      throw new WeftError(ErrorCode.Forbidden, 'without --admin-token admin actions are answered for loopback clients only');
    }
    await next();
  };
}
