// `weft new NAME --template T`: writes an app folder from one of the templates shipped in the
// package (templates/<T>/): weft.json, the component's source, a README and a test request,
// with the app's name filled in.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../build/index.js';
import { ErrorCode, WeftError } from '../errors.js';

const TEMPLATES = join(PACKAGE_ROOT, 'templates');
const TEXT = /\.(json|md|ts|js|txt)$/;
/** The manifest's name rule: the app name is also its route (/apps/NAME) and model prefix. */
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

const HELP = `weft new NAME [--template T] [--dir DIR]

Writes a new app folder (DIR, default ./NAME) from a template:
  assemblyscript  an AssemblyScript component calling a tiny ONNX classifier it ships (default)
  javascript      JavaScript glue (componentize-js) asking a language model (you supply a GGUF)
  models-only     a model bundle served over KServe v2, no component
Then: cd DIR && weft build && weft serve --app . --allow-unsigned
`;

export function templateNames(): string[] {
  return readdirSync(TEMPLATES).filter((t) => statSync(join(TEMPLATES, t)).isDirectory()).sort();
}

function copyTemplate(from: string, to: string, name: string, written: string[]): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) copyTemplate(src, dst, name, written);
    else {
      if (TEXT.test(entry.name)) writeFileSync(dst, readFileSync(src, 'utf8').replaceAll('{{name}}', name));
      else copyFileSync(src, dst);
      written.push(dst);
    }
  }
}

/** Writes the app folder; returns the files written. */
export function newApp(name: string, template: string, dir: string): string[] {
  if (!NAME.test(name)) throw new WeftError(ErrorCode.BadRequest, `app name '${name}' must be 1-63 lowercase letters, digits, "_", "." or "-", starting with a letter or digit`, { field: 'NAME' });
  const names = templateNames();
  if (!names.includes(template)) throw new WeftError(ErrorCode.BadRequest, `no template '${template}' (templates: ${names.join(', ')})`, { field: 'template' });
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new WeftError(ErrorCode.BadRequest, `${dir} exists and is not empty`, { field: 'dir' });
  const written: string[] = [];
  copyTemplate(join(TEMPLATES, template), dir, name, written);
  return written;
}

export function newCommand(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { template: { type: 'string', short: 't', default: 'assemblyscript' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void process.stdout.write(HELP);
  if (positionals.length !== 1) throw new WeftError(ErrorCode.BadRequest, `usage: ${HELP}`);
  const name = positionals[0]!;
  const dir = resolve(values.dir ?? name);
  const files = newApp(name, values.template, dir);
  const shown = relative(process.cwd(), dir) || '.';
  process.stdout.write(`created ${shown} from template ${values.template}:\n${files.map((f) => `  ${relative(dir, f)}`).join('\n')}\n`);
  const build = values.template === 'models-only' ? '' : ' && weft build';
  process.stdout.write(`next: cd ${shown}${build} && weft serve --app . --allow-unsigned (see its README.md)\n`);
}
