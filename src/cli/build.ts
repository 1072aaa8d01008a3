// `weft build [DIR]`: builds an app folder's component (AssemblyScript or JavaScript), checks it
// against the world and the grants, and prints its size and what it imports.

import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp, ENTRIES, type BuildReport } from '../build/index.js';
import { ErrorCode, WeftError } from '../errors.js';

const HELP = `weft build [DIR] [--entry FILE] [--json]

Builds the component of the app in DIR (default .) to weft.json's component.file:
  ${ENTRIES.assemblyscript.padEnd(18)} AssemblyScript, importing the SDK as 'weft/sdk/assemblyscript'
  ${ENTRIES.javascript.padEnd(18)} JavaScript exporting \`handler\` (componentize-js, an optional dependency)
then checks its imports against the weft:app world and the manifest's grants.
`;

export function formatReport(r: BuildReport): string {
  const lines = [`built ${r.app}: ${r.entry} (${r.language}) -> ${r.file}, ${r.bytes} bytes in ${r.ms} ms`, `imports: ${r.imports.join(', ') || 'nothing'}`];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export async function buildCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { entry: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void process.stdout.write(HELP);
  if (positionals.length > 1) throw new WeftError(ErrorCode.BadRequest, `usage: ${HELP}`);
  const dir = resolve(positionals[0] ?? '.');
  const report = await buildApp(dir, values.entry === undefined ? {} : { entry: values.entry });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatReport({ ...report, file: relative(process.cwd(), resolve(dir, report.file)) || report.file }));
}
