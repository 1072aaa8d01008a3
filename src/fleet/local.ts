// A node started without --fleet is a fleet of one, in process: `weft nodes` lists it and
// `weft status` its apps, while placing apps needs a fleet to place them on (`--fleet`); the
// node's own /admin/apps deploys them here.

import { ErrorCode, WeftError } from '../errors.js';
import type { DeployRequest, FleetControl, NodesAnswer } from './control.js';
import type { Inventory } from './inventory.js';
import type { NodeRecord } from './messages.js';
import type { AppRuntime } from './seams.js';
import type { AppStatus } from './view.js';

export class LocalFleet implements FleetControl {
  private last: NodeRecord | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly inventory: Inventory,
    private readonly runtime: AppRuntime,
    private readonly policy: 'spread' | 'pack',
    refreshMs: number,
  ) {
    const refresh = () => void this.inventory.record().then((r) => (this.last = r), () => undefined);
    refresh();
    this.timer = setInterval(refresh, refreshMs).unref();
  }

  deploy(_request: DeployRequest): Promise<{ app: AppStatus; created: boolean }> {
    return Promise.reject(
      new WeftError(ErrorCode.FleetDisabled, 'this node is not in a fleet: start it with --fleet nats://HOST:4222 to place apps on a fleet, or deploy on this node alone with POST /admin/apps'),
    );
  }

  undeploy(name: string): Promise<void> {
    return Promise.reject(new WeftError(ErrorCode.FleetDisabled, `this node is not in a fleet (--fleet); remove '${name}' from this node with DELETE /admin/apps/${name}`));
  }

  status(name: string): AppStatus {
    const app = this.apps().find((a) => a.name === name);
    if (app === undefined) throw new WeftError(ErrorCode.AppNotFound, `no app '${name}' on this node (it is not in a fleet)`);
    return app;
  }

  apps(): AppStatus[] {
    const node = this.last?.node ?? 'local';
    const site = this.last?.site ?? 'default';
    return this.runtime.list().map((a) => ({
      name: a.name,
      ref: '-',
      digest: a.digest,
      memoryBytes: 0,
      replicas: { min: 1, max: 1, target: 1, ready: 1 },
      constraints: { require: [], select: {} },
      placed: [{ node, site, state: 'ready' as const }],
      pending: '',
      failed: {},
      health: 'healthy' as const,
    }));
  }

  nodes(): NodesAnswer {
    const nodes = this.last === undefined ? [] : [{ record: this.last, replicas: this.runtime.list().length, idle: false, scheduler: true }];
    return { fleet: false, policy: this.policy, scheduler: this.last?.node, nodes };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
