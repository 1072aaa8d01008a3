// `weft config`: prints every setting with its flag, variable, default and, given the same flags,
// the value the node would use (credentials only as set or not).

import { loadConfig, settings } from '../config/index.js';
import { withoutUrlCredentials } from '../telemetry/index.js';
import { parseFlags } from './flags.js';

export function configCommand(args: string[]): void {
  const { flags, file } = parseFlags(args);
  const resolved = loadConfig({ flags, env: process.env, file }) as unknown as Record<string, unknown>;
  const isSet = (v: unknown) => v !== undefined && !(Array.isArray(v) && v.length === 0);
  for (const s of settings) {
    process.stdout.write(`${s.key}\n  --${s.flag}  ${s.env}  default: ${s.default ?? '(none)'}\n  value: ${'secret' in s && s.secret && isSet(resolved[s.key]) ? '(set, not shown)' : withoutUrlCredentials(JSON.stringify(resolved[s.key], (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v)) ?? 'undefined')}\n  ${s.description}\n`);
  }
}
