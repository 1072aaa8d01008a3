// Reads a JSON request body for the routes that take one (admin, fleet, OpenAI), so a body that
// is not JSON is one error everywhere: 400 INVALID_JSON with the parser's reason.
import type { Context } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';

export async function readJsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidJson, `the request body is not JSON: ${(err as Error).message}`, { cause: err });
  }
}
