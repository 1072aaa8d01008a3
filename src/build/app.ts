// `weft build`'s work for one app folder: finds the component's source (AssemblyScript in
// assembly/index.ts, JavaScript in src/app.js), builds it, checks what it imports against the
// world and the manifest's grants, and writes it where weft.json's component.file points.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { readManifestFile, type Manifest } from '../bundle/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { checkWorld } from '../sandbox/index.js';
import { buildAssemblyScriptComponent } from './assemblyscript.js';
import { componentWorld } from './component.js';
import { buildJavaScriptComponent } from './javascript.js';

export type Language = 'assemblyscript' | 'javascript';

/** Where each language's entry sits by convention (asc's own convention for AssemblyScript). */
export const ENTRIES: Record<Language, string> = { assemblyscript: 'assembly/index.ts', javascript: 'src/app.js' };

export interface BuildReport {
  app: string;
  language: Language;
  entry: string;
  /** The component written, as weft.json names it. */
  file: string;
  bytes: number;
  imports: string[];
  /** Grants the component cannot use, or calls it makes without grants. */
  warnings: string[];
  ms: number;
}

function readManifest(dir: string): Manifest {
  const path = join(dir, 'weft.json');
  if (!existsSync(path)) throw new WeftError(ErrorCode.InvalidManifest, `${dir} has no weft.json (weft new NAME writes an app folder)`, { field: 'dir' });
  return readManifestFile(path);
}

function findEntry(dir: string, entry: string | undefined): { entry: string; language: Language } {
  if (entry !== undefined) {
    const language: Language = entry.endsWith('.ts') ? 'assemblyscript' : 'javascript';
    if (!existsSync(resolve(dir, entry))) throw new WeftError(ErrorCode.BuildFailed, `${resolve(dir, entry)} does not exist`, { field: 'entry' });
    return { entry, language };
  }
  const found = (Object.entries(ENTRIES) as Array<[Language, string]>).filter(([, e]) => existsSync(join(dir, e)));
  if (found.length === 0) throw new WeftError(ErrorCode.BuildFailed, `${dir} has neither ${Object.values(ENTRIES).join(' nor ')} (or pass --entry FILE)`, { field: 'entry' });
  if (found.length > 1) throw new WeftError(ErrorCode.BuildFailed, `${dir} has both ${found.map(([, e]) => e).join(' and ')}: pass --entry FILE`, { field: 'entry' });
  return { entry: found[0]![1], language: found[0]![0] };
}

/** Warnings for grants and imports that do not match: not errors, a component may grow into them. */
function grantWarnings(manifest: Manifest, imports: string[]): string[] {
  const grants = manifest.component!.grants;
  const calls = imports.some((i) => i.startsWith('weft:ai/inference@'));
  const out: string[] = [];
  if (calls && grants.models.length === 0) out.push('the component imports weft:ai/inference but grants.models is empty: every model call will fail with not-granted');
  if (!calls && grants.models.length > 0) out.push(`grants.models lists ${grants.models.join(', ')} but the component calls no model`);
  if (!imports.some((i) => i.startsWith('weft:app/config@')) && Object.keys(grants.config).length > 0) out.push('grants.config has values but the component never reads config');
  return out;
}

export async function buildApp(folder: string, options: { entry?: string } = {}): Promise<BuildReport> {
  const started = performance.now();
  const dir = resolve(folder);
  const manifest = readManifest(dir);
  if (!manifest.component) throw new WeftError(ErrorCode.BuildFailed, `${join(dir, 'weft.json')} has no component to build (a models-only app needs no build)`, { field: 'component' });
  const { entry, language } = findEntry(dir, options.entry);
  const out = resolve(dir, manifest.component.file);
  const bytes =
    language === 'assemblyscript'
      ? await buildAssemblyScriptComponent(entry, undefined, { baseDir: dir })
      : await buildJavaScriptComponent(resolve(dir, entry), dir);
  const world = await componentWorld(bytes);
  try {
    checkWorld(world, relative(process.cwd(), out) || out);
  } catch (err) {
    throw new WeftError(ErrorCode.BuildFailed, (err as Error).message, { cause: err });
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  return {
    app: manifest.name,
    language,
    entry,
    file: manifest.component.file,
    bytes: bytes.byteLength,
    imports: world.imports.filter((i) => !i.startsWith('weft:app/types@')),
    warnings: grantWarnings(manifest, world.imports),
    ms: Math.round(performance.now() - started),
  };
}
