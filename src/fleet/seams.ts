// What the fleet needs from the node it runs in, as small interfaces: node.ts passes the
// implementations (the apps module's deployer, the engine's status, telemetry's stats, GPU
// discovery), so the fleet depends on no module above it and tests can pass their own for faults.

import type { DeployedApp } from '../apps/index.js';
import type { ModelLoad } from './messages.js';

/** Deploys and removes apps on this node: the apps module's AppDeployer, passed as it is. */
export interface AppRuntime {
  /** Pulls, verifies (the node's own trusted keys) and loads a reference. */
  deploy(ref: string): Promise<DeployedApp>;
  /** Unloads an app after its in-flight requests finish. */
  remove(name: string): Promise<unknown>;
  list(): DeployedApp[];
}

export interface PowerReading {
  watts: number;
  /** The meter that produced it (rapl, nvidia) or 'estimate'. */
  source: string;
  measured: boolean;
  /** The part of `watts` a meter read, when the rest is estimated. */
  measuredWatts?: number;
}

/** The node's live state, read at every heartbeat. */
export interface InventorySource {
  /** Model memory budget and what is in use, bytes per device. */
  memory(): { budget: { cpu: number; cuda: number }; used: { cpu: number; cuda: number } };
  /** Every model served and the bytes it holds now. */
  models(): Array<{ name: string; memoryBytes: number }>;
  /** The language models among them (what /v1/models lists). */
  languageModels(): string[];
  load(): ModelLoad[];
  power(): PowerReading;
  /** Bundle digests held in the node's store. */
  bundles(): Promise<string[]>;
}

export interface Gpu {
  model: string;
  memoryBytes: number;
}

/** Finds the node's GPUs (nvidia-smi where present); tests pass a fixed list. */
export type DeviceDiscovery = () => Promise<Gpu[]>;

/** What the fleet must know of an app to place it, read from its bundle. */
export interface BundleFacts {
  name: string;
  digest: string;
  /** Memory one instance needs: every model's bytes times its instances. */
  memoryBytes: number;
  gpu: { count: number; memoryBytes?: number } | undefined;
  labels: Record<string, string>;
  models: string[];
}

/** Opens (pulls and verifies) a reference and reads its placement facts. */
export type BundleInspector = (ref: string) => Promise<BundleFacts>;
