// Compiles an AssemblyScript entry with the Weft SDK to a core module. The SDK ships inside the
// weft package (sdk/assemblyscript) and an app imports it by package name,
// `weft/sdk/assemblyscript`: asc finds it in the app's node_modules or, failing that, in the
// package this code runs from (passed with --path), so a globally installed weft builds too.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { componentize, type ExtraWorld } from './component.js';
import { PACKAGE_ROOT } from './paths.js';

/** The name an app imports the SDK by. */
export const SDK_IMPORT = 'weft/sdk/assemblyscript';
/** asc's internal path of the SDK's entry file: the `abort` alias names its weftAbort. */
const SDK_INTERNAL = `~lib/${SDK_IMPORT}/index`;

/**
 * A folder holding `weft/` (this package) for asc's --path: the package's parent when it is
 * installed as `weft`, else (a checkout under another name) a temporary folder with a link.
 */
function packagesDir(): { dir: string; dispose(): void } {
  if (basename(PACKAGE_ROOT) === 'weft') return { dir: dirname(PACKAGE_ROOT), dispose: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'weft-asc-'));
  symlinkSync(PACKAGE_ROOT, join(dir, 'weft'), 'dir');
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles AssemblyScript `entry` (paths resolve against `baseDir`, the app folder) to a core module. */
export async function compileAssemblyScript(entry: string, baseDir = dirname(entry), extraArgs: string[] = []): Promise<Uint8Array> {
  const base = resolve(baseDir);
  const packages = packagesDir();
  let binary: Uint8Array | undefined;
  try {
    // The compiler loads when something is compiled, not with every `weft` command (it is most of their start-up).
    const { default: asc } = await import('assemblyscript/asc');
    const { error, stderr } = await asc.main(
      [
        relative(base, resolve(base, entry)).replaceAll('\\', '/'),
        '--outFile',
        'out.wasm',
        '-O3',
        '--runtime',
        'incremental',
        '--use',
        `abort=${SDK_INTERNAL}/weftAbort`,
        '--baseDir',
        base,
        '--path',
        packages.dir,
        ...extraArgs,
      ],
      {
        writeFile: (name: string, contents: Uint8Array | string) => {
          if (name.endsWith('.wasm')) binary = contents as Uint8Array;
        },
      },
    );
    if (error || binary === undefined) {
      const log = stderr.toString();
      const hint = log.includes('weftAbort') ? `\n(the entry must import the SDK by name: import { serve } from '${SDK_IMPORT}')` : '';
      throw new WeftError(ErrorCode.BuildFailed, `asc failed for ${entry}: ${error?.message ?? ''}\n${log}${hint}`);
    }
  } finally {
    packages.dispose();
  }
  return binary;
}

/** Compiles and wraps an AssemblyScript entry into a component, written to `outFile` when given. */
export async function buildAssemblyScriptComponent(entry: string, outFile?: string, options: { baseDir?: string; extra?: ExtraWorld } = {}): Promise<Uint8Array> {
  const component = await componentize(await compileAssemblyScript(entry, options.baseDir), options.extra);
  if (outFile !== undefined) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, component);
  }
  return component;
}
