// Builds a weft:app component from a JavaScript module with componentize-js (an optional
// dependency: it embeds a JS engine, ~40 MB, and platform binaries). The module is wrapped so
// that an exception it throws reaches the caller and the node's log with its message: thrown
// as is, componentize-js cannot lower an Error as the handler's `app-error`, and the guest
// traps with only "unreachable".

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { witSource } from './component.js';

/** Longest exception text the wrapper passes on (the node caps it again). */
const MESSAGE_CAP = 2048;

/** Without these disabled the component imports WASI (stdio, random, clocks, http) and is refused at load. */
const DISABLED = ['stdio', 'random', 'clocks', 'http', 'fetch-event'] as const;

function wrapper(entryImport: string): string {
  return `// Written by weft build: the app's handler, with uncaught exceptions turned into app-errors.
import { handler as app } from ${JSON.stringify(entryImport)};
import { log } from 'weft:app/log@0.1.0';
const KINDS = ['bad-request', 'not-found', 'unprocessable', 'unavailable', 'internal'];
function cap(text) {
  return text.length > ${MESSAGE_CAP} ? text.slice(0, ${MESSAGE_CAP}) + '…' : text;
}
// SpiderMonkey's stack has frames only (handle@src/app.js:6:11): the message goes in front.
function describe(e) {
  if (!(e instanceof Error)) return { head: cap(String(e)), stack: '' };
  const where = (e.stack || '').split('\\n')[0];
  return { head: cap(e.name + ': ' + e.message) + (where ? ' (at ' + cap(where) + ')' : ''), stack: cap(e.stack || '') };
}
export const handler = {
  handle(req) {
    try {
      return app.handle(req);
    } catch (e) {
      if (e !== null && typeof e === 'object' && KINDS.includes(e.kind) && typeof e.message === 'string') throw e;
      const { head, stack } = describe(e);
      log('error', 'uncaught exception: ' + head + (stack ? '\\n' + stack : ''));
      throw { kind: 'internal', message: 'uncaught exception: ' + head };
    }
  },
};
`;
}

type Componentize = (o: { sourcePath: string; witPath: string; worldName: string; disableFeatures: string[] }) => Promise<{ component: Uint8Array }>;

async function loadComponentize(): Promise<Componentize> {
  try {
    const mod = (await import('@bytecodealliance/componentize-js')) as { componentize: Componentize };
    return mod.componentize;
  } catch (err) {
    throw new WeftError(
      ErrorCode.BuildFailed,
      `building a JavaScript component needs @bytecodealliance/componentize-js, an optional dependency of weft that is not installed (npm install @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.17.4): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Builds the module `entry` (exporting `handler`) into a component. The generated wrapper is
 * written to `root` (the app folder), which must hold `entry`: componentize-js lets a module
 * import only files under the folder of the file it starts from.
 */
export async function buildJavaScriptComponent(entry: string, root = dirname(entry)): Promise<Uint8Array> {
  const componentize = await loadComponentize();
  if (relative(resolve(root), resolve(entry)).startsWith('..')) throw new WeftError(ErrorCode.BuildFailed, `${entry} is outside ${root}`, { field: 'entry' });
  // Dot-named: `weft serve --watch` ignores it, and so does a casual `ls`.
  const wrapperPath = join(root, `.weft-entry-${process.pid}.js`);
  const rel = relative(dirname(wrapperPath), resolve(entry)).replaceAll('\\', '/');
  writeFileSync(wrapperPath, wrapper(rel.startsWith('.') ? rel : `./${rel}`));
  const witDir = mkdtempSync(join(tmpdir(), 'weft-wit-'));
  try {
    writeFileSync(join(witDir, 'world.wit'), witSource());
    const { component } = await componentize({ sourcePath: wrapperPath, witPath: witDir, worldName: 'app', disableFeatures: [...DISABLED] });
    return component;
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw new WeftError(ErrorCode.BuildFailed, `componentize-js failed for ${entry}: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(witDir, { recursive: true, force: true });
    rmSync(wrapperPath, { force: true });
  }
}
