// Apps deployed on a running node: loading a bundle (verified against the node's trusted keys),
// registering the models it carries with the engine (shared with apps that carry the same ones)
// and its component with the sandbox, and removing them again. `weft serve --app`, the /admin
// API and the fleet's reconciler all go through here.

import type { KeyObject } from 'node:crypto';
import { loadApp, type AppBundle } from '../bundle/index.js';
import type { NodeConfig } from '../config/index.js';
import type { EngineCatalog } from '../engine/index.js';
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
  /** Takes the models an app brings, of every kind. */
  engine: EngineCatalog;
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

/** An app this deployer holds (deployed, or being deployed or removed) and what its component is granted. */
interface Held {
  state: 'installing' | 'deployed' | 'removing';
  /** Models its component may call (component.grants.models). */
  grants: readonly string[];
  info?: DeployedApp;
}

export class AppDeployer {
  private readonly apps = new Map<string, Held>();
  /** Models each app brought, shared between apps that bring the same one. */
  private readonly shared = new SharedModels();
  /** Models being removed from the engine: an app bringing or granted one waits for the removal. */
  private readonly releasing = new Map<string, Promise<void>>();

  private readonly engine: EngineModels;

  constructor(private readonly options: AppDeployerOptions) {
    this.engine = new EngineModels(options.engine);
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
    const held = this.apps.get(name);
    if (held !== undefined) {
      const why = held.state === 'removing' ? 'is being removed; deploy it again once that is done' : `is already deployed; remove it first (DELETE /admin/apps/${name})`;
      throw new WeftError(ErrorCode.AppExists, `app '${name}' ${why}`, { field: 'ref' });
    }
    // Claimed before anything awaits: of concurrent deploys of one app, one goes on.
    const entry: Held = { state: 'installing', grants: bundle.manifest.component?.grants.models ?? [] };
    this.apps.set(name, entry);
    try {
      entry.info = await this.installModels(bundle, ref, signedBy, entry.grants);
      entry.state = 'deployed';
      return entry.info;
    } catch (err) {
      this.apps.delete(name);
      throw err;
    }
  }

  private async installModels(bundle: AppBundle, ref: string, signedBy: readonly string[], grants: readonly string[]): Promise<DeployedApp> {
    const { config, sandbox, log } = this.options;
    const { engine } = this;
    const name = bundle.manifest.name;
    const definitions = await engine.definitions(bundle, config);
    const claims = await Promise.all(definitions.map((_, i) => claimOf(bundle, i)));
    // A model being removed is served again (brought) or found gone (granted) only once the removal is done.
    const needed = [...definitions.map((d) => d.name), ...grants];
    for (let pending = this.pendingRemoval(needed); pending.length > 0; pending = this.pendingRemoval(needed)) await Promise.all(pending);
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
    const sharedWith = models.filter((m) => !added.has(m));
    log.info('app deployed', { app: name, version: info.version, digest: info.digest, models: models.join(','), ...(sharedWith.length > 0 ? { shared: sharedWith.join(',') } : {}), signed: signedBy.length > 0 });
    return info;
  }

  private pendingRemoval(models: readonly string[]): Array<Promise<void>> {
    return models.flatMap((m) => this.releasing.get(m) ?? []);
  }

  /** Drops an app's claims and removes from the engine the models no other app still uses. */
  private async release(app: string, models: readonly string[], before: () => Promise<void> = async () => undefined): Promise<void> {
    const unused = this.shared.release(app, models);
    const work = before().then(() => this.engine.remove(unused));
    for (const m of unused) this.releasing.set(m, work);
    try {
      await work;
    } finally {
      for (const m of unused) if (this.releasing.get(m) === work) this.releasing.delete(m);
    }
  }

  /**
   * Removes an app: refused (CONFLICT) while another app is granted a model that only this one
   * brings; otherwise new requests find no app at once, those in flight finish (up to the
   * shutdown timeout), then the models no other app uses are unloaded.
   */
  async remove(name: string): Promise<DeployedApp> {
    const entry = this.apps.get(name);
    if (entry?.info === undefined || entry.state !== 'deployed') throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    const info = entry.info;
    const dependents = this.dependents(name, info.models);
    if (dependents.length > 0) {
      const uses = dependents.map((d) => `app '${d.app}' is granted model '${d.model}'`).join(', ');
      const apps = [...new Set(dependents.map((d) => `'${d.app}'`))].join(', ');
      throw new WeftError(ErrorCode.Conflict, `cannot remove app '${name}': ${uses}, which only '${name}' brings; remove ${apps} first`);
    }
    entry.state = 'removing';
    const { sandbox, config } = this.options;
    try {
      // The models stay until the component's last request is done with them.
      await this.release(name, info.models, async () => {
        if (sandbox.has(name)) await sandbox.remove(name, config.shutdownTimeout);
      });
    } finally {
      this.apps.delete(name);
    }
    this.options.log.info('app removed', { app: name });
    return info;
  }

  /** Other apps (deployed or being deployed) granted a model that would go with `app`. */
  private dependents(app: string, models: readonly string[]): Array<{ app: string; model: string }> {
    const going = new Set(this.shared.onlyUsedBy(app, models));
    return [...this.apps].flatMap(([other, held]) => (other === app || held.state === 'removing' ? [] : held.grants.filter((m) => going.has(m)).map((model) => ({ app: other, model }))));
  }

  list(): DeployedApp[] {
    return [...this.apps.values()]
      .flatMap((a) => (a.state === 'deployed' && a.info !== undefined ? [a.info] : []))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
