// Apps deployed on a running node: loading a bundle (verified against the node's trusted keys),
// registering the models it carries with the engine (shared with apps that carry the same ones)
// and its component with the sandbox, and removing them again. `weft serve --app`, the /admin
// API and the fleet's reconciler all go through here.

import type { KeyObject } from 'node:crypto';
import { loadApp, type AppBundle } from '../bundle/index.js';
import type { NodeConfig } from '../config/index.js';
import type { LlmService, ModelDefinition, ModelManager } from '../engine/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import type { Sandbox } from '../sandbox/index.js';
import type { Logger } from '../telemetry/index.js';
import { EngineModels } from './engine-models.js';
import { SharedModels, type ModelClaim } from './shared-models.js';

export interface DeployedApp {
  name: string;
  version: string;
  /** The OCI manifest digest (or weft.json's digest for an app folder). */
  digest: string;
  /** The reference it was deployed from. */
  ref: string;
  models: string[];
  /** Key ids whose signatures verified; empty for an app served with --allow-unsigned. */
  signedBy: readonly string[];
}

export interface AppDeployerOptions {
  manager: ModelManager;
  /** Takes an app's GGUF and upstream models. */
  llm: LlmService;
  sandbox: Sandbox;
  config: Readonly<NodeConfig>;
  trustedKeys: readonly KeyObject[];
  log: Logger;
}

/** What makes an app's model the same as another app's: its file digest (or upstreams) and serving settings. */
async function claimOf(bundle: AppBundle, index: number): Promise<ModelClaim> {
  const model = bundle.manifest.models[index]!;
  const serving = model.serving === undefined ? '' : JSON.stringify(model.serving, Object.keys(model.serving).sort());
  const content = model.file !== undefined ? await bundle.fileDigest(model.file) : `upstream ${model.upstream!.join(' ')} (${model.protocol ?? 'openai'})`;
  return { name: model.name, index, identity: `${content} ${serving}`, describe: serving === '' ? content : `${content}, serving ${serving}` };
}

export class AppDeployer {
  private readonly apps = new Map<string, DeployedApp>();
  private readonly installing = new Set<string>();
  /** Models each app brought, shared between apps that bring the same one. */
  private readonly shared = new SharedModels();
  /** Models being removed from the engine: an app bringing one again waits for the removal. */
  private readonly releasing = new Map<string, Promise<void>>();

  private readonly engine: EngineModels;

  constructor(private readonly options: AppDeployerOptions) {
    this.engine = new EngineModels(options.manager, options.llm);
  }

  /** Loads a reference, verifying it against the trusted keys, and installs it. */
  async deploy(ref: string): Promise<DeployedApp> {
    const { config, trustedKeys, log } = this.options;
    const bundle = await loadApp(ref, config, { trust: { trustedKeys, allowUnsigned: config.allowUnsigned }, warn: (message) => log.warn(message) });
    return this.install(bundle, ref, bundle.signedBy);
  }

  /** Registers an already verified (or node-shipped) app: its models, then its component. */
  async install(bundle: AppBundle, ref: string, signedBy: readonly string[]): Promise<DeployedApp> {
    const name = bundle.manifest.name;
    if (this.apps.has(name) || this.installing.has(name)) throw new WeftError(ErrorCode.AppExists, `app '${name}' is already deployed; remove it first (DELETE /admin/apps/${name})`, { field: 'ref' });
    this.installing.add(name);
    try {
      return await this.installModels(bundle, ref, signedBy);
    } finally {
      this.installing.delete(name);
    }
  }

  private async installModels(bundle: AppBundle, ref: string, signedBy: readonly string[]): Promise<DeployedApp> {
    const { config, sandbox, log } = this.options;
    const { engine } = this;
    const name = bundle.manifest.name;
    const definitions = engine.definitions(bundle, config);
    const claims = await Promise.all(definitions.map((_, i) => claimOf(bundle, i)));
    for (let pending = this.pendingRemoval(definitions); pending.length > 0; pending = this.pendingRemoval(definitions)) await Promise.all(pending);
    // From here to the engine's add nothing awaits, so no other deploy or removal interleaves.
    for (const d of definitions) {
      if (!this.shared.has(d.name) && engine.serves(d.name)) {
        throw new WeftError(ErrorCode.InvalidConfig, `model '${d.name}' is already served by this node`, { field: 'models' });
      }
    }
    const added = new Set(this.shared.claim(name, claims).map((c) => c.name));
    engine.add(definitions.filter((d) => added.has(d.name)));
    const models = definitions.map((d) => d.name);
    if (bundle.manifest.component) {
      try {
        await sandbox.deploy(bundle);
      } catch (err) {
        await this.release(name, models);
        throw err;
      }
    }
    const info: DeployedApp = { name, version: bundle.manifest.version, digest: bundle.digest, ref, models, signedBy };
    this.apps.set(name, info);
    const sharedWith = models.filter((m) => !added.has(m));
    log.info('app deployed', { app: name, version: info.version, digest: info.digest, models: models.join(','), ...(sharedWith.length > 0 ? { shared: sharedWith.join(',') } : {}), signed: signedBy.length > 0 });
    return info;
  }

  private pendingRemoval(definitions: readonly ModelDefinition[]): Array<Promise<void>> {
    return definitions.flatMap((d) => this.releasing.get(d.name) ?? []);
  }

  /** Drops an app's claims and removes from the engine the models no other app still uses. */
  private async release(app: string, models: readonly string[]): Promise<void> {
    const unused = this.shared.release(app, models);
    const work = this.engine.remove(unused);
    for (const m of unused) this.releasing.set(m, work);
    try {
      await work;
    } finally {
      for (const m of unused) if (this.releasing.get(m) === work) this.releasing.delete(m);
    }
  }

  async remove(name: string): Promise<DeployedApp> {
    const entry = this.apps.get(name);
    if (!entry) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    this.apps.delete(name);
    const { sandbox } = this.options;
    if (sandbox.has(name)) await sandbox.remove(name);
    await this.release(name, entry.models);
    this.options.log.info('app removed', { app: name });
    return entry;
  }

  list(): DeployedApp[] {
    return [...this.apps.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
