// What a key may do: `infer:NAME` on a model or app (NAME may hold `*` wildcards, `infer:*` is
// every one), `admin` (deploy, load and unload, keys, stats) and `metrics` (/metrics).

import { ErrorCode, WeftError } from '../errors.js';

const SCOPE = /^(?:admin|metrics|infer:[A-Za-z0-9_.*-]+)$/;

/** Checks a scope as a user typed it; `field` names where it came from. */
export function parseScope(raw: string, field = 'scope'): string {
  const scope = raw.trim();
  if (!SCOPE.test(scope)) throw new WeftError(ErrorCode.BadRequest, `'${scope}' is not a scope: use infer:NAME (wildcards allowed: infer:ppocr-*), admin or metrics`, { field });
  return scope;
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** Whether the granted scopes cover `required` (`infer:NAME` is covered by a matching pattern). */
export function allows(granted: readonly string[], required: string): boolean {
  if (granted.includes(required)) return true;
  if (!required.startsWith('infer:')) return false;
  const name = required.slice(6);
  return granted.some((g) => g.startsWith('infer:') && globMatches(g.slice(6), name));
}
