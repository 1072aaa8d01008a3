// Parses a command's flags against the settings registry, so every setting has its flag and an
// unknown flag is an error that says so.

import { parseArgs } from 'node:util';
import { ErrorCode, WeftError } from '../errors.js';
import { settings } from '../config/index.js';

export interface ParsedFlags {
  flags: Record<string, string | string[] | undefined>;
  /** --config FILE */
  file: string | undefined;
  positionals: string[];
}

export function parseFlags(args: string[], extra: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {}): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { config: { type: 'string' }, ...extra };
  for (const s of settings) options[s.flag] = s.kind === 'list' ? { type: 'string', multiple: true } : { type: s.kind === 'boolean' ? 'boolean' : 'string' };
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    const { config, ...rest } = values as Record<string, string | boolean | string[] | undefined>;
    // A boolean flag given bare means true; the config parser reads every value as text.
    const flags = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]));
    return { flags, file: config as string | undefined, positionals };
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${(err as Error).message} (see \`weft config\` for every setting)`, { cause: err });
  }
}
