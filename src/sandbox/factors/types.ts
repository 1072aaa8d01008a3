// The shape of a host capability ("factor", after Spin): the WIT interface it implements, the
// imports it gives a component inside the worker, the operations it runs on the main thread
// for them, and a check of an app against the node when the app is loaded.

import type { Engine } from '../../engine/index.js';
import type { Manifest } from '../../bundle/index.js';
import type { RequestScope } from '../../telemetry/index.js';
import type { HandleTable } from './handles.js';

export interface Grants {
  models: readonly string[];
  config: Readonly<Record<string, string>>;
}

/** What a factor's guest side may use inside the worker. */
export interface GuestContext {
  app: string;
  grants: Grants;
  /** Runs a host operation on the main thread and blocks until it answers. */
  call(op: string, payload: unknown, transfer?: ArrayBuffer[]): unknown;
  /** Sends a line to the node's log (does not block). */
  log(level: string, message: string): void;
}

/** What a factor's host side may use on the main thread, per request. */
export interface HostContext {
  app: string;
  grants: Grants;
  /** The node's models, of every kind: the calls a grant lets through go here. */
  engine: Engine;
  /** Aborted when the request ends (deadline, client gone, worker died, or done). */
  signal: AbortSignal;
  /** Objects this request holds between calls (LLM streams); closed when it ends. */
  handles: HandleTable;
  /** The app request's telemetry, when the node records it. */
  scope: RequestScope | undefined;
}

/** What an app is checked against at load: the models this node serves. */
export interface NodeModels {
  engine: Pick<Engine, 'names'>;
}

export interface HostAnswer {
  value: unknown;
  transfer?: ArrayBuffer[];
}

export interface Factor {
  /** WIT interface name as jco reports imports, without version, e.g. `weft:ai/inference`. */
  readonly interface: string;
  /** The import object for this interface. */
  guest(ctx: GuestContext): Record<string, (...args: never[]) => unknown>;
  /** Main-thread operations, by name, that the guest side calls through the bridge. */
  readonly host?: Readonly<Record<string, (ctx: HostContext, payload: never) => Promise<HostAnswer>>>;
  /** Checks an app's manifest against the node at load; throws a WeftError naming the problem. */
  validate?(manifest: Manifest, node: NodeModels): void;
}

/** A typed WIT `result` error as jco lowers it from a host import. */
export function witErr<T>(val: T): { tag: 'err'; val: T } {
  return { tag: 'err', val };
}
