// Reads what placement needs from an app's bundle: opened and verified as the node would serve
// it (so an unknown reference or an unsigned bundle fails at `weft deploy`, not later), then
// every model's bytes times its instances, or the manifest's own `resources.memory`.

import { statSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { loadApp } from '../bundle/index.js';
import { parseBytes, type NodeConfig } from '../config/index.js';
import type { BundleFacts, BundleInspector } from './seams.js';

function size(value: number | string | undefined): number | undefined {
  return typeof value === 'number' ? value : value === undefined ? undefined : parseBytes(value);
}

export function bundleInspector(config: Readonly<NodeConfig>, trustedKeys: readonly KeyObject[]): BundleInspector {
  return async (ref: string): Promise<BundleFacts> => {
    const bundle = await loadApp(ref, config, { trust: { trustedKeys, allowUnsigned: config.allowUnsigned } });
    const { manifest } = bundle;
    let modelBytes = 0;
    for (const m of manifest.models) {
      if (m.file === undefined) continue;
      const serving = m.serving ?? {};
      const instances = typeof serving.instances === 'number' ? serving.instances : config.instances;
      const memory = size(serving.memory as number | string | undefined) ?? statSync(bundle.filePath(m.file)).size;
      modelBytes += memory * Math.max(1, instances);
    }
    const resources = manifest.resources;
    const gpu = resources?.gpu;
    return {
      name: manifest.name,
      digest: bundle.digest,
      memoryBytes: Math.max(modelBytes, size(resources?.memory) ?? 0),
      gpu: gpu === undefined ? undefined : { count: gpu.count, ...(gpu.memory === undefined ? {} : { memoryBytes: size(gpu.memory)! }) },
      labels: resources?.labels ?? {},
      models: manifest.models.map((m) => m.name),
    };
  };
}
