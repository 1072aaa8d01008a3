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

export function parseFlags(args: string[]): ParsedFlags {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = { config: { type: 'string' } };
  for (const s of settings) options[s.flag] = s.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    const { config, ...flags } = values as Record<string, string | string[] | undefined>;
    return { flags, file: config as string | undefined, positionals };
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${(err as Error).message} (see \`weft config\` for every setting)`, { cause: err });
  }
}
