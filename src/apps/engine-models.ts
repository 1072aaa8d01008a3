// The apps module's only calls into the engine: the models an app brings, which the node already
// serves, adding them and removing them. Kept in this one file so that a change of the engine's
// surface touches the apps module here only; the engine sorts models by kind itself.

import type { AppBundle } from '../bundle/index.js';
import type { NodeConfig } from '../config/index.js';
import { appModels, type EngineCatalog, type ModelDefinition } from '../engine/index.js';

export class EngineModels {
  constructor(private readonly catalog: EngineCatalog) {}

  /** The engine's definitions of the models a bundle brings (checks their serving settings). */
  definitions(bundle: AppBundle, config: Readonly<NodeConfig>): Promise<ModelDefinition[]> {
    return appModels(bundle, config);
  }

  serves(name: string): boolean {
    return this.catalog.has(name);
  }

  add(definitions: readonly ModelDefinition[]): void {
    this.catalog.add(definitions);
  }

  /** Unloads and forgets these models. */
  async remove(names: readonly string[]): Promise<void> {
    await this.catalog.remove(names);
  }
}
