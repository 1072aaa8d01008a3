// An InventorySource built from what a node already reports: the engine's model status (state,
// device, bytes), the stats behind `weft top` (queue, in flight, latency, joules, power) and
// the store's tags. Structural types, so the fleet imports neither the engine nor the api.

import type { InventorySource } from './seams.js';

export interface ModelHolding {
  name: string;
  device: 'cpu' | 'cuda' | undefined;
  memoryBytes: number;
  /** A language model (served through the OpenAI API). */
  language?: boolean;
}

export interface StatsLike {
  models: ReadonlyArray<{ model: string; queued: number; inflight: number; p50Ms: number; p99Ms: number; rate: number; joulesPerRequest: number }>;
  power: ReadonlyArray<{ watts: number; source: string }>;
}

export interface StatsSourceOptions {
  budget: { cpu: number; cuda: number };
  models: () => readonly ModelHolding[];
  stats: () => StatsLike;
  bundles: () => Promise<string[]>;
  /** Watts assumed when no meter reports any (the estimator's idle power). */
  idleWatts: number;
}

export function statsInventory(options: StatsSourceOptions): InventorySource {
  return {
    memory: () => {
      const used = { cpu: 0, cuda: 0 };
      for (const m of options.models()) used[m.device ?? 'cpu'] += m.memoryBytes;
      return { budget: options.budget, used };
    },
    models: () => {
      const bytes = new Map<string, number>();
      for (const m of options.models()) bytes.set(m.name, (bytes.get(m.name) ?? 0) + m.memoryBytes);
      return [...bytes].map(([name, memoryBytes]) => ({ name, memoryBytes }));
    },
    languageModels: () => [...new Set(options.models().filter((m) => m.language === true).map((m) => m.name))],
    load: () =>
      options.stats().models.map((m) => ({
        model: m.model,
        queued: m.queued,
        inflight: m.inflight,
        p50Ms: m.p50Ms,
        p99Ms: m.p99Ms,
        rate: m.rate,
        joulesPerRequest: m.joulesPerRequest,
      })),
    power: () => {
      const power = options.stats().power;
      if (power.length === 0) return { watts: options.idleWatts, source: 'estimate', measured: false };
      const watts = power.reduce((n, p) => n + p.watts, 0);
      const measured = power.every((p) => p.source === 'measured');
      if (measured || power.every((p) => p.source !== 'measured')) return { watts, source: measured ? 'measured' : 'estimated', measured };
      // A GPU read by nvidia-smi beside an estimated CPU: the sum is an estimate, but says how much of it was read.
      const measuredWatts = power.reduce((n, p) => n + (p.source === 'measured' ? p.watts : 0), 0);
      return { watts, source: 'partly measured', measured: false, measuredWatts };
    },
    bundles: options.bundles,
  };
}
