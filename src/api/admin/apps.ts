// Apps deployed on a running node: loading a bundle (verified against the node's trusted keys),
// registering its models with the engine and its component with the sandbox, and removing them
// again. `weft serve --app` and the /admin API both go through here.

import type { KeyObject } from 'node:crypto';
import { loadApp, type AppBundle } from '../../bundle/index.js';
import type { NodeConfig } from '../../config/index.js';
import { appModels, type LlmService, type ModelManager } from '../../engine/index.js';
import { ErrorCode, WeftError } from '../../errors.js';
import type { Sandbox } from '../../sandbox/index.js';
import type { Logger } from '../../telemetry/index.js';

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

export class AppDeployer {
  private readonly apps = new Map<string, DeployedApp>();

  constructor(private readonly options: AppDeployerOptions) {}

  /** Loads a reference, verifying it against the trusted keys, and installs it. */
  async deploy(ref: string): Promise<DeployedApp> {
    const { config, trustedKeys, log } = this.options;
    const bundle = await loadApp(ref, config, { trust: { trustedKeys, allowUnsigned: config.allowUnsigned }, warn: (message) => log.warn(message) });
    return this.install(bundle, ref, bundle.signedBy);
  }

  /** Registers an already verified (or node-shipped) app: its models, then its component. */
  async install(bundle: AppBundle, ref: string, signedBy: readonly string[]): Promise<DeployedApp> {
    const { config, manager, llm, sandbox, log } = this.options;
    const name = bundle.manifest.name;
    if (this.apps.has(name)) throw new WeftError(ErrorCode.AppExists, `app '${name}' is already deployed; remove it first (DELETE /admin/apps/${name})`, { field: 'ref' });
    const definitions = appModels(bundle, config);
    for (const d of definitions) {
      if (manager.names().includes(d.name) || llm.has(d.name)) throw new WeftError(ErrorCode.InvalidConfig, `model '${d.name}' is already served by this node`, { field: 'models' });
    }
    const tensorModels = definitions.filter((d) => d.format === 'onnx').map((d) => d.name);
    const languageModels = definitions.filter((d) => d.format !== 'onnx').map((d) => d.name);
    manager.add(definitions.filter((d) => d.format === 'onnx'));
    llm.add(definitions.filter((d) => d.format !== 'onnx'));
    const models = definitions.map((d) => d.name);
    if (bundle.manifest.component) {
      try {
        await sandbox.deploy(bundle);
      } catch (err) {
        await Promise.all([manager.remove(tensorModels), llm.remove(languageModels)]);
        throw err;
      }
    }
    const info: DeployedApp = { name, version: bundle.manifest.version, digest: bundle.digest, ref, models, signedBy };
    this.apps.set(name, info);
    log.info('app deployed', { app: name, version: info.version, digest: info.digest, models: models.join(','), signed: signedBy.length > 0 });
    return info;
  }

  async remove(name: string): Promise<DeployedApp> {
    const entry = this.apps.get(name);
    if (!entry) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    this.apps.delete(name);
    const { sandbox, manager, llm } = this.options;
    if (sandbox.has(name)) await sandbox.remove(name);
    await Promise.all([manager.remove(entry.models.filter((m) => manager.names().includes(m))), llm.remove(entry.models.filter((m) => llm.has(m)))]);
    this.options.log.info('app removed', { app: name });
    return entry;
  }

  list(): DeployedApp[] {
    return [...this.apps.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
