// The apps module's only calls into the engine: the models an app brings, which the node already
// serves, adding them and removing them. Kept in this one file so that a change of the engine's
// surface touches the apps module here only.

import type { AppBundle } from '../bundle/index.js';
import type { NodeConfig } from '../config/index.js';
import { appModels, type LlmService, type ModelDefinition, type ModelManager } from '../engine/index.js';

export class EngineModels {
  constructor(
    private readonly manager: ModelManager,
    /** Takes GGUF and upstream models. */
    private readonly llm: LlmService,
  ) {}

  /** The engine's definitions of the models a bundle brings (checks their serving settings). */
  definitions(bundle: AppBundle, config: Readonly<NodeConfig>): ModelDefinition[] {
    return appModels(bundle, config);
  }

  serves(name: string): boolean {
    return this.manager.names().includes(name) || this.llm.has(name);
  }

  add(definitions: readonly ModelDefinition[]): void {
    this.manager.add(definitions.filter((d) => d.format === 'onnx'));
    this.llm.add(definitions.filter((d) => d.format !== 'onnx'));
  }

  /** Unloads and forgets these models. */
  async remove(names: readonly string[]): Promise<void> {
    await Promise.all([this.manager.remove(names.filter((m) => this.manager.names().includes(m))), this.llm.remove(names.filter((m) => this.llm.has(m)))]);
  }
}
