// Builds the AssemblyScript test components in test/components/ (cached by source hash, so the
// suites share one build) and writes app folders around them.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAssemblyScriptComponent, buildJavaScriptComponent } from '../../src/build/index.js';
import type { ManifestInput } from '../../src/bundle/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = join(tmpdir(), 'weft-test-components');

function sourceHash(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

const sdkFiles = () => readdirSync(join(ROOT, 'sdk/assemblyscript')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'sdk/assemblyscript', f));
const witFiles = () => [join(ROOT, 'wit/app.wit'), join(ROOT, 'wit/deps/ai/inference.wit')];

/**
 * WIT for components that import what Weft does not grant: stand-ins for the WASI interfaces
 * (only their names matter to the check) and a world that adds them to weft:app/app.
 */
export const HOSTILE_WIT = {
  world: 'weft:hostile/hostile',
  wit: `
package wasi:filesystem@0.2.0 { interface preopens { get-directories: func() -> list<string>; } }
package wasi:sockets@0.2.0 { interface tcp { connect: func(host: string, port: u16) -> u32; } }
package weft:hostile { world hostile { include weft:app/app@0.1.0; import wasi:filesystem/preopens@0.2.0; import wasi:sockets/tcp@0.2.0; } }
`,
};

/** WIT for a component importing a weft:ai version this node does not provide. */
export const FUTURE_WIT = {
  world: 'weft:later/later',
  wit: `
package weft:ai@0.2.0 { interface inference { count: func() -> u32; } }
package weft:later { world later { include weft:app/app@0.1.0; import weft:ai/inference@0.2.0; } }
`,
};

/** The component built from test/components/NAME.ts; returns its path. */
export async function testComponent(name: string, extra?: { wit: string; world: string }): Promise<string> {
  const entry = join(ROOT, 'test/components', `${name}.ts`);
  const out = join(CACHE, `${name}-${sourceHash([entry, ...sdkFiles(), ...witFiles()])}${extra ? createHash('sha256').update(extra.wit).digest('hex').slice(0, 8) : ''}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    await buildAssemblyScriptComponent(entry, tmp, { extra });
    renameSync(tmp, out);
  }
  return out;
}

/** The component built from test/components/js/NAME.js as `weft build` builds it (componentize-js, with its exception wrapper); returns its path. */
export async function jsTestComponent(name: string): Promise<string> {
  const entry = join(ROOT, 'test/components/js', `${name}.js`);
  const out = join(CACHE, `js-${name}-${sourceHash([entry, ...witFiles(), join(ROOT, 'src/build/javascript.ts')])}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const component = await buildJavaScriptComponent(entry);
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, component);
    renameSync(tmp, out);
  }
  return out;
}

/** Writes an app folder holding `component` (a path) and a weft.json for it. */
export function writeApp(dir: string, componentPath: string, manifest: Omit<ManifestInput, 'component'> & { component?: Partial<NonNullable<ManifestInput['component']>> }): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(componentPath, join(dir, 'app.wasm'));
  const full = { ...manifest, component: { file: 'app.wasm', ...manifest.component } };
  writeFileSync(join(dir, 'weft.json'), JSON.stringify(full, null, 2));
  return dir;
}
