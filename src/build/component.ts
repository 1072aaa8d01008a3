// Wraps core modules into weft:app components and reads back what a component imports and
// exports. The WIT of the world travels in the package (wit/), so this works for an app folder
// anywhere on disk.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// wasm-tools (a large wasm module) loads when a component is built or inspected, not with every `weft` command.
const wasmTools = () => import('@bytecodealliance/jco-transpile/wasm-tools');
import { renameExports } from '../sandbox/index.js';
import { PACKAGE_ROOT } from './paths.js';

/** The weft:app world and its weft:ai dependency as one WIT source (nested package syntax). */
export function witSource(): string {
  const app = readFileSync(join(PACKAGE_ROOT, 'wit/app.wit'), 'utf8');
  const ai = readFileSync(join(PACKAGE_ROOT, 'wit/deps/ai/inference.wit'), 'utf8');
  const aiBody = ai.replace(/^package weft:ai@0\.1\.0;$/m, '');
  return `${app}\npackage weft:ai@0.1.0 {\n${aiBody}\n}\n`;
}

/** The SDK's plain export names and the Component Model's names for them. */
const EXPORTS = {
  weft_handle: 'weft:app/handler@0.1.0#handle',
  weft_post_handle: 'cabi_post_weft:app/handler@0.1.0#handle',
};

/** Extra WIT (packages and a world that includes weft:app/app): lets tests build components that import more than the world allows. */
export interface ExtraWorld {
  wit: string;
  world: string;
}

/** Wraps a core module that follows the weft:app canonical ABI (the AssemblyScript SDK's) into a component. */
export async function componentize(core: Uint8Array, extra?: ExtraWorld): Promise<Uint8Array> {
  const { componentEmbed, componentNew } = await wasmTools();
  const embedded = await componentEmbed({
    binary: renameExports(core, EXPORTS),
    witSource: witSource() + (extra?.wit ?? ''),
    world: extra?.world ?? 'app',
  });
  return componentNew(embedded);
}

export interface ComponentWorld {
  /** Interfaces as the component's WIT names them, e.g. `weft:ai/inference@0.1.0`. */
  imports: string[];
  exports: string[];
}

/** What a component imports and exports, from its WIT. */
export async function componentWorld(bytes: Uint8Array): Promise<ComponentWorld> {
  const { componentWit } = await wasmTools();
  const wit = await componentWit(bytes);
  const names = (kind: string) => [...wit.matchAll(new RegExp(`^\\s*${kind}\\s+([^\\s;{]+);`, 'gm'))].map((m) => m[1]!.trim());
  return { imports: names('import'), exports: names('export') };
}
