// Turns a component into what a worker runs: transpiled once per content digest with jco
// (JS glue + core modules) and cached on disk under the node's data dir, then checked so that
// it imports only interfaces a factor provides. Cache entries are written to a temporary
// folder and renamed into place, so a half-written entry is never read.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, WeftError } from '../errors.js';
import { FACTORS } from './factors/index.js';
import { capMemories, isWasmBinary } from './wasm-binary.js';

const require = createRequire(import.meta.url);
// The package exports no ./package.json; it sits one folder above the entry (dist/).
const TRANSPILER_VERSION = (
  JSON.parse(readFileSync(join(dirname(require.resolve('@bytecodealliance/jco-transpile')), '..', 'package.json'), 'utf8')) as { version: string }
).version;
const HANDLER = 'weft:app/handler@0.1.0';

export interface TranspiledComponent {
  /** sha256 of the component bytes. */
  digest: string;
  /** file: URL of the JS glue. */
  moduleUrl: string;
  /** Core module files by the names the glue asks for. */
  coreFiles: Record<string, string>;
  imports: string[];
  exports: string[];
}

/** Bump when the cache entry's layout changes. */
const CACHE_FORMAT = 2;
/** Interface version this host implements; a 0.x version is compatible within its minor. */
const WORLD_VERSION = /^0\.1\.\d+$/;

interface Meta {
  /** Imports as the component's WIT names them, e.g. `weft:ai/inference@0.1.0`. */
  imports: string[];
  exports: string[];
  core: string[];
}

/** Imports of the component's world, from its WIT (jco's list drops versions and type-only interfaces). */
async function witImports(bytes: Uint8Array): Promise<string[]> {
  const { componentWit } = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const wit = await componentWit(bytes);
  return [...wit.matchAll(/^\s*import\s+([^;]+);/gm)].map((m) => m[1]!.trim());
}

/** Refuses a component that imports an interface (or version) no factor provides, or exports no handler; `weft build` checks the same. */
export function checkWorld(meta: Pick<Meta, 'imports' | 'exports'>, source: string): void {
  // Type-only interfaces (weft:app/types) have no functions, hence no factor.
  const allowed = new Set([...FACTORS.map((f) => f.interface), 'weft:app/types']);
  for (const name of meta.imports) {
    const at = name.lastIndexOf('@');
    const iface = at < 0 ? name : name.slice(0, at);
    if (!allowed.has(iface)) {
      throw new WeftError(
        ErrorCode.ComponentRefused,
        `${source}: the component imports '${name}', which Weft does not grant (a component may import only ${[...allowed].join(', ')})`,
        { field: 'component.file' },
      );
    }
    if (at < 0 || !WORLD_VERSION.test(name.slice(at + 1))) {
      throw new WeftError(ErrorCode.ComponentRefused, `${source}: the component imports '${name}'; this node provides ${iface}@0.1.0`, {
        field: 'component.file',
      });
    }
  }
  if (!meta.exports.includes(HANDLER)) {
    throw new WeftError(ErrorCode.ComponentRefused, `${source}: the component does not export ${HANDLER} (exports: ${meta.exports.join(', ') || 'none'})`, {
      field: 'component.file',
    });
  }
}

/** Transpiles (or finds in the cache) a component; refuses one that imports what is not granted. */
export async function transpileComponent(bytes: Uint8Array, cacheDir: string, source: string): Promise<TranspiledComponent> {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const dir = join(cacheDir, `${digest}-jco${TRANSPILER_VERSION}-v${CACHE_FORMAT}`);
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) {
    // jco also reads the text format, and its parse errors quote the file: refuse anything that is
    // not a binary component before it does, so no error echoes a file's content.
    if (!isWasmBinary(bytes)) {
      throw new WeftError(ErrorCode.ComponentRefused, `${source}: not a WebAssembly component (a binary .wasm file starts with \\0asm; build it with \`weft build\`)`, {
        field: 'component.file',
      });
    }
    const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
    let result: Awaited<ReturnType<typeof transpileBytes>>;
    try {
      result = await transpileBytes(bytes, { name: 'component', instantiation: 'sync', emitTypescriptDeclarations: false });
    } catch (err) {
      throw new WeftError(ErrorCode.ComponentRefused, `${source}: not a valid WebAssembly component: ${(err as Error).message}`, {
        field: 'component.file',
        cause: err,
      });
    }
    const meta: Meta = {
      imports: await witImports(bytes),
      exports: result.exports.map(([name]) => name),
      core: Object.keys(result.files).filter((f) => f.endsWith('.wasm')),
    };
    checkWorld(meta, source);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    for (const [name, data] of Object.entries(result.files)) {
      if (!name.endsWith('.js') && !name.endsWith('.wasm')) continue;
      // .mjs: the cache folder has no package.json saying the glue is an ES module.
      const file = name === 'component.js' ? 'component.mjs' : name;
      mkdirSync(dirname(join(tmp, file)), { recursive: true });
      writeFileSync(join(tmp, file), data);
    }
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta));
    try {
      renameSync(tmp, dir);
    } catch {
      // Another node process cached the same component first: use theirs.
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
  checkWorld(meta, source);
  return {
    digest: `sha256:${digest}`,
    moduleUrl: pathToFileURL(join(dir, 'component.mjs')).href,
    coreFiles: Object.fromEntries(meta.core.map((name) => [name, join(dir, name)])),
    imports: meta.imports,
    exports: meta.exports,
  };
}

/** Compiles the core modules with every memory capped at `memoryBytes`. */
export async function compileCoreModules(c: TranspiledComponent, memoryBytes: number): Promise<Record<string, WebAssembly.Module>> {
  const out: Record<string, WebAssembly.Module> = {};
  for (const [name, path] of Object.entries(c.coreFiles)) out[name] = await WebAssembly.compile(capMemories(readFileSync(path), memoryBytes) as Uint8Array<ArrayBuffer>);
  return out;
}
