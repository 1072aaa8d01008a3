// This node's inventory as the fleet sees it: hardware (found once), budgets, what it serves
// and how loaded it is (read at every heartbeat from the node's seams), and the replicas the
// reconciler runs for the fleet.

import os from 'node:os';
import { FLEET_VERSION } from './namespace.js';
import type { NodeRecord, ReplicaReport } from './messages.js';
import type { AppRuntime, Gpu, InventorySource } from './seams.js';

export interface Identity {
  node: string;
  site: string;
  labels: Readonly<Record<string, string>>;
  url: string;
  version: string;
  powerBudget: number | undefined;
}

export class Inventory {
  draining = false;

  constructor(
    private readonly identity: Identity,
    private readonly source: InventorySource,
    private readonly runtime: AppRuntime,
    private readonly gpus: readonly Gpu[],
    private readonly replicas: () => ReplicaReport[],
    private readonly clock: () => number = Date.now,
  ) {}

  async record(): Promise<NodeRecord> {
    const { identity: id, source } = this;
    const memory = source.memory();
    const replicas = this.replicas();
    const fleetApps = new Set(replicas.map((r) => r.app));
    const fleetModels = new Set(this.runtime.list().filter((a) => fleetApps.has(a.name)).flatMap((a) => a.models));
    const models = source.models();
    const power = source.power();
    const cpus = os.cpus();
    return {
      v: FLEET_VERSION,
      node: id.node,
      site: id.site,
      labels: { ...id.labels },
      url: id.url,
      version: id.version,
      at: this.clock(),
      draining: this.draining,
      cpu: { cores: Math.max(1, cpus.length), model: cpus[0]?.model.trim() ?? 'unknown' },
      memory: { totalBytes: os.totalmem() },
      gpus: [...this.gpus],
      budget: memory.budget,
      free: { cpu: Math.max(0, memory.budget.cpu - memory.used.cpu), cuda: Math.max(0, memory.budget.cuda - memory.used.cuda) },
      localBytes: models.filter((m) => !fleetModels.has(m.name)).reduce((n, m) => n + m.memoryBytes, 0),
      power: { ...power, ...(id.powerBudget === undefined ? {} : { budgetWatts: id.powerBudget }) },
      models: models.map((m) => m.name),
      languageModels: source.languageModels(),
      apps: this.runtime.list().map((a) => ({ name: a.name, digest: a.digest })),
      bundles: await source.bundles(),
      load: source.load(),
      replicas,
    };
  }
}
