// The apps a node runs as components: loads each from its bundle (checks, transpile cache,
// compile with capped memories, a warm worker) and routes app requests to its pool.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppBundle } from '../bundle/index.js';
import { parseBytes, parseDuration } from '../config/index.js';
import type { Engine } from '../engine/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import type { Logger, RequestScope } from '../telemetry/index.js';
import { compileCoreModules, transpileComponent } from './compile.js';
import { FACTORS } from './factors/index.js';
import { ComponentPool } from './pool.js';
import type { AppRequest, AppResponse } from './protocol.js';

/** The world this host implements. */
const WORLD = 'weft:app/app@0.1.0';

export interface SandboxOptions {
  /** The models components may call (weft:ai/inference run, generate, embed), as their grants allow. */
  engine: Engine;
  log: Logger;
  /** The node's data dir; transpiled components are cached under it. */
  dataDir: string;
  /** Told each time a component instance starts (a worker's, or a per-request one): a metric. */
  onInstanceStart?: (app: string) => void;
}

interface Route {
  prefix: string;
  exact: boolean;
  methods: readonly string[] | undefined;
}

interface LoadedApp {
  bundle: AppBundle;
  pool: ComponentPool;
  routes: Route[];
}

/** A component the sandbox started (the app as a whole is the apps module's DeployedApp). */
export interface LoadedComponent {
  name: string;
  /** Digest of the transpiled component (its cache key). */
  digest: string;
  /** Time to start the first instance in its worker, ms. */
  instantiateMs: number;
}

function size(v: number | string): number {
  return typeof v === 'number' ? v : parseBytes(v)!;
}
function duration(v: number | string): number {
  return typeof v === 'number' ? v : parseDuration(v)!;
}

export class Sandbox {
  private readonly apps = new Map<string, LoadedApp>();
  /** Apps whose component is starting: a second deploy of the name is refused, not raced. */
  private readonly starting = new Set<string>();

  constructor(private readonly o: SandboxOptions) {}

  names(): string[] {
    return [...this.apps.keys()].sort();
  }

  has(name: string): boolean {
    return this.apps.has(name);
  }

  /** Loads an app's component; refuses it (COMPONENT_REFUSED, INVALID_MANIFEST) with the reason. */
  async deploy(bundle: AppBundle): Promise<LoadedComponent> {
    const { manifest } = bundle;
    const component = manifest.component;
    if (component === undefined) throw new WeftError(ErrorCode.InvalidManifest, `${bundle.source}: app '${manifest.name}' has no component`, { field: 'component' });
    if (component.world !== WORLD) {
      throw new WeftError(ErrorCode.ComponentRefused, `${bundle.source}: component.world '${component.world}' is not served here (this node runs ${WORLD})`, {
        field: 'component.world',
      });
    }
    if (this.apps.has(manifest.name) || this.starting.has(manifest.name)) throw new WeftError(ErrorCode.AppExists, `app '${manifest.name}' is already deployed`, { field: 'name' });
    for (const factor of FACTORS) factor.validate?.(manifest, { engine: this.o.engine });
    this.starting.add(manifest.name);
    try {
      return await this.start(bundle);
    } finally {
      this.starting.delete(manifest.name);
    }
  }

  private async start(bundle: AppBundle): Promise<LoadedComponent> {
    const { manifest } = bundle;
    const component = manifest.component!;
    const source = `${bundle.source}: ${component.file}`;
    const transpiled = await transpileComponent(readFileSync(bundle.filePath(component.file)), join(this.o.dataDir, 'components'), source);
    const memoryBytes = size(component.limits.memory);
    let modules: Record<string, WebAssembly.Module>;
    try {
      modules = await compileCoreModules(transpiled, memoryBytes);
    } catch (err) {
      if (err instanceof WeftError) throw new WeftError(err.code, `${source}: ${err.message}`, { field: 'component.limits.memory' });
      throw err;
    }
    const pool = new ComponentPool({
      app: manifest.name,
      moduleUrl: transpiled.moduleUrl,
      modules,
      grants: component.grants,
      perRequest: component.instances === 'per-request',
      memoryBytes,
      deadlineMs: duration(component.limits.deadline),
      concurrency: component.limits.concurrency,
      engine: this.o.engine,
      log: this.o.log,
      onInstanceStart: this.o.onInstanceStart,
    });
    const instantiateMs = await pool.start().catch(async (err: unknown) => {
      await pool.close();
      throw err;
    });
    const routes = (manifest.routes ?? [{ path: '/*', methods: undefined }]).map((r) => ({
      prefix: r.path.endsWith('*') ? r.path.slice(0, -1) : r.path,
      exact: !r.path.endsWith('*'),
      methods: r.methods,
    }));
    this.apps.set(manifest.name, { bundle, pool, routes });
    this.o.log.info('app deployed', { app: manifest.name, digest: transpiled.digest, instances: component.instances });
    return { name: manifest.name, digest: transpiled.digest, instantiateMs };
  }

  /**
   * Removes an app: new requests find no app at once, those already taken finish (up to
   * `drainMs`, then fail with SHUTTING_DOWN) before its workers end.
   */
  async remove(name: string, drainMs: number): Promise<void> {
    const app = this.apps.get(name);
    if (app === undefined) return;
    this.apps.delete(name);
    await app.pool.drain(drainMs);
  }

  async handle(name: string, request: AppRequest, signal?: AbortSignal, scope?: RequestScope): Promise<AppResponse> {
    const app = this.apps.get(name);
    if (app === undefined) {
      throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' on this node (apps: ${this.names().join(', ') || 'none'})`, { field: 'app' });
    }
    const route = app.routes.find((r) => (r.exact ? request.path === r.prefix : request.path.startsWith(r.prefix) || `${request.path}/` === r.prefix));
    if (route === undefined) throw new WeftError(ErrorCode.RouteNotFound, `app '${name}' has no route for ${request.path}`);
    if (route.methods !== undefined && !route.methods.includes(request.method)) {
      throw new WeftError(ErrorCode.MethodNotAllowed, `app '${name}' accepts ${route.methods.join(', ')} on ${request.path}`, { allow: route.methods });
    }
    return app.pool.handle(request, signal, scope);
  }

  /** Ends every app's workers now (the node drained its requests before). */
  async close(): Promise<void> {
    const apps = [...this.apps.values()];
    this.apps.clear();
    await Promise.all(apps.map((a) => a.pool.close()));
  }
}
