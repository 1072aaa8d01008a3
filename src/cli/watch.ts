// `weft serve --watch`: for each --app that is a folder, watches its files and, a moment after
// the last change, rebuilds its component and redeploys it through the node's app deployer.
// Only the edited app is swapped; a failed build leaves the running version serving.

import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { openAppFolder } from '../bundle/index.js';
import { buildApp, ENTRIES } from '../build/index.js';
import type { WeftNode } from '../node.js';
import type { Logger } from '../telemetry/index.js';

/** Quiet time after the last change before a rebuild: editors write a file in several steps. */
const DEBOUNCE_MS = 200;
/** Top-level folders whose changes never trigger a rebuild: build output and installed packages. */
const IGNORED = new Set(['build', 'node_modules', 'dist']);

export function isAppFolder(ref: string): boolean {
  return existsSync(join(ref, 'weft.json'));
}

/** Whether the folder has component source `weft build` knows (a models-only app has none). */
export function hasSource(dir: string): boolean {
  return Object.values(ENTRIES).some((e) => existsSync(join(dir, e)));
}

/** Builds an app folder's component when it has source; logs and rethrows a failure. */
export async function buildIfSource(dir: string, log: Logger): Promise<void> {
  if (!hasSource(dir)) return;
  const r = await buildApp(dir);
  log.info('app built', { app: r.app, file: r.file, bytes: r.bytes, ms: r.ms, imports: r.imports.join(',') });
  for (const w of r.warnings) log.warn(w, { app: r.app });
}

class AppWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly watcher: FSWatcher;

  constructor(
    private readonly dir: string,
    private name: string,
    private readonly node: WeftNode,
    private readonly log: Logger,
  ) {
    this.watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (file === null || this.ignored(file)) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.trigger(), DEBOUNCE_MS);
    });
  }

  private ignored(file: string): boolean {
    const parts = file.split(sep);
    return IGNORED.has(parts[0]!) || parts.some((p) => p.startsWith('.')) || file.endsWith('.wasm');
  }

  private trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.redeploy().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    });
  }

  private async redeploy(): Promise<void> {
    const started = performance.now();
    try {
      await buildIfSource(this.dir, this.log);
      // Checked before the running version goes: a broken weft.json keeps it serving.
      const next = openAppFolder(this.dir).manifest.name;
      if (this.node.apps.list().some((a) => a.name === this.name)) await this.node.apps.remove(this.name);
      this.name = next;
      const app = await this.node.apps.deploy(this.dir);
      this.log.info('app redeployed', { app: app.name, digest: app.digest, ms: Math.round(performance.now() - started) });
    } catch (err) {
      this.log.error('app not redeployed: fix it and save again', { app: this.name, dir: this.dir, error: (err as Error).message });
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher.close();
  }
}

/** Starts watching every app folder among `refs`; returns a function that stops watching. */
export function watchApps(refs: readonly string[], node: WeftNode, log: Logger): () => void {
  const watchers: AppWatcher[] = [];
  for (const ref of refs) {
    if (!isAppFolder(ref)) {
      log.warn('--watch: not an app folder, not watched', { ref });
      continue;
    }
    const dir = resolve(ref);
    watchers.push(new AppWatcher(dir, openAppFolder(dir).manifest.name, node, log));
    log.info('watching app folder', { dir });
  }
  return () => watchers.forEach((w) => w.close());
}
