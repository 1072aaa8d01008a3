// Apps deployed on a running node: loading a bundle (verified against the node's trusted keys),
// registering its models with the engine, and removing them again. `weft serve --app` and the
// /admin API both go through here.

import type { KeyObject } from 'node:crypto';
import { loadApp } from '../../bundle/index.js';
import type { NodeConfig } from '../../config/index.js';
import { appModels, type ModelManager } from '../../engine/index.js';
import { ErrorCode, WeftError } from '../../errors.js';
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
  config: Readonly<NodeConfig>;
  trustedKeys: readonly KeyObject[];
  log: Logger;
}

export class AppDeployer {
  private readonly apps = new Map<string, DeployedApp>();

  constructor(private readonly options: AppDeployerOptions) {}

  async deploy(ref: string): Promise<DeployedApp> {
    const { config, manager, trustedKeys, log } = this.options;
    const bundle = await loadApp(ref, config, { trust: { trustedKeys, allowUnsigned: config.allowUnsigned }, warn: (message) => log.warn(message) });
    const name = bundle.manifest.name;
    if (this.apps.has(name)) throw new WeftError(ErrorCode.AppExists, `app '${name}' is already deployed; remove it first (DELETE /admin/apps/${name})`, { field: 'ref' });
    const definitions = appModels(bundle, config);
    manager.add(definitions);
    const signedBy = bundle.signedBy;
    const info: DeployedApp = { name, version: bundle.manifest.version, digest: bundle.digest, ref, models: definitions.map((d) => d.name), signedBy };
    this.apps.set(name, info);
    log.info('app deployed', { app: name, version: info.version, digest: info.digest, models: info.models.join(','), signed: signedBy.length > 0 });
    return info;
  }

  async remove(name: string): Promise<DeployedApp> {
    const entry = this.apps.get(name);
    if (!entry) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' is deployed on this node`);
    this.apps.delete(name);
    await this.options.manager.remove(entry.models);
    this.options.log.info('app removed', { app: name });
    return entry;
  }

  list(): DeployedApp[] {
    return [...this.apps.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
