// Who may take admin actions (deploy and remove apps, load and unload models, read live stats):
// the holder of the admin token when one is set, otherwise loopback clients only. One guard,
// mounted on /admin and on the repository extension's load and unload (HTTP and gRPC).

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

/**
 * Why a caller may not take an admin action, or undefined when it may: the HTTP guard below and
 * the gRPC repository extension ask the same question.
 */
export function adminRefusal(authorization: string | undefined, remoteAddress: () => string | undefined, adminToken: string | undefined): WeftError | undefined {
  if (adminToken !== undefined) {
    const header = authorization ?? '';
    if (!header.startsWith('Bearer ') || !tokenMatches(header.slice(7), adminToken)) {
      return new WeftError(ErrorCode.Forbidden, 'admin actions need "Authorization: Bearer <admin token>" (--admin-token)');
    }
  } else if (!isLoopback(remoteAddress())) {
    return new WeftError(ErrorCode.Forbidden, 'without --admin-token admin actions are answered for loopback clients only');
  }
  return undefined;
}

/** Middleware refusing anyone but the admin with 403 FORBIDDEN. */
export function adminGuard(adminToken: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const refusal = adminRefusal(c.req.header('authorization'), () => getConnInfo(c).remote.address, adminToken);
    if (refusal !== undefined) throw refusal;
    await next();
  };
}
