// Builds a weft:app component from AssemblyScript: asc compiles the entry (which uses the SDK in
// sdk/assemblyscript), the SDK's plain export names are renamed to the Component Model's, and
// jco's componentEmbed (with the WIT in wit/) plus componentNew wrap the core module.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools';
import { renameExports } from '../src/sandbox/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The weft:app world and its weft:ai dependency as one WIT source (nested package syntax). */
export function witSource(): string {
  const app = readFileSync(join(ROOT, 'wit/app.wit'), 'utf8');
  const ai = readFileSync(join(ROOT, 'wit/deps/ai/inference.wit'), 'utf8');
  const aiBody = ai.replace(/^package weft:ai@0\.1\.0;$/m, '');
  return `${app}\npackage weft:ai@0.1.0 {\n${aiBody}\n}\n`;
}

const EXPORTS = {
  weft_handle: 'weft:app/handler@0.1.0#handle',
  weft_post_handle: 'cabi_post_weft:app/handler@0.1.0#handle',
};

/** Compiles AssemblyScript `entry` to a core module (no component wrapping). */
export async function compileAssemblyScript(entry: string, extraArgs: string[] = []): Promise<Uint8Array> {
  const sdk = relative(ROOT, join(ROOT, 'sdk/assemblyscript/index')).replaceAll('\\', '/');
  let binary: Uint8Array | undefined;
  const { error, stderr } = await asc.main(
    [relative(ROOT, resolve(entry)), '--outFile', 'out.wasm', '-O3', '--runtime', 'incremental', '--use', `abort=${sdk}/weftAbort`, '--baseDir', ROOT, ...extraArgs],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('.wasm')) binary = contents as Uint8Array;
      },
    },
  );
  if (error || binary === undefined) throw new Error(`asc failed for ${entry}: ${error?.message ?? ''}\n${stderr.toString()}`);
  return binary;
}

/**
 * Wraps a core module that follows the weft:app canonical ABI into a component. `extraWit`
 * (packages and a world `name` that includes weft:app/app) lets tests build components that
 * import more than the world allows.
 */
export async function componentize(core: Uint8Array, extra?: { wit: string; world: string }): Promise<Uint8Array> {
  const embedded = await componentEmbed({
    binary: renameExports(core, EXPORTS),
    witSource: witSource() + (extra?.wit ?? ''),
    world: extra?.world ?? 'app',
  });
  return componentNew(embedded);
}

export async function buildAssemblyScriptComponent(entry: string, outFile?: string, extra?: { wit: string; world: string }): Promise<Uint8Array> {
  const component = await componentize(await compileAssemblyScript(entry), extra);
  if (outFile !== undefined) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, component);
  }
  return component;
}
