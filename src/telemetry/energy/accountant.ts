// Reads the energy meters at an interval and attributes each interval's joules to the models and
// apps that kept the device busy, in proportion to their share of its busy time (batch compute
// time, split between a batch's requests by rows). Energy of an interval with no work is
// attributed to IDLE. Also gives the node's power per device and a joules-per-busy-millisecond
// rate for putting an energy figure on each request.

import type { EnergyDevice, EnergyMeter, EnergySource } from './meter.js';

/** Model label of energy used while no request ran. */
export const IDLE = '_idle';

export interface EnergySink {
  joules(model: string, app: string, device: EnergyDevice, source: EnergySource, joules: number): void;
  power(device: EnergyDevice, source: EnergySource, watts: number): void;
}

interface Busy {
  model: string;
  app: string;
  ms: number;
}

interface MeterState {
  meter: EnergyMeter;
  joules: number;
  at: number;
  failed: boolean;
}

export interface DevicePower {
  device: EnergyDevice;
  source: EnergySource;
  watts: number;
  joules: number;
}

export class EnergyAccountant {
  private readonly busy: Record<EnergyDevice, Map<string, Busy>> = { cpu: new Map(), cuda: new Map() };
  private readonly busyTotal: Record<EnergyDevice, number> = { cpu: 0, cuda: 0 };
  private readonly rate: Partial<Record<EnergyDevice, { joulesPerMs: number; source: EnergySource }>> = {};
  private readonly states: MeterState[] = [];
  private readonly powers = new Map<EnergyDevice, DevicePower>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    meters: readonly EnergyMeter[],
    private readonly sink: EnergySink,
    private readonly onError: (meter: EnergyMeter, err: Error) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const meter of meters) this.states.push({ meter, joules: 0, at: 0, failed: false });
  }

  /** Milliseconds `device` has spent on work since start, over all models. */
  busyMs(device: EnergyDevice): number {
    return this.busyTotal[device];
  }

  /** Counts `ms` of device busy time for a model and app. */
  addBusy(device: EnergyDevice, model: string, app: string, ms: number): void {
    const key = app === '' ? model : `${model}\u0000${app}`;
    const entry = this.busy[device].get(key);
    if (entry) entry.ms += ms;
    else this.busy[device].set(key, { model, app, ms });
    this.busyTotal[device] += ms;
  }

  /**
   * Energy of `busyMs` on `device` at the last busy interval's rate or, before there was one, at
   * the device's last power reading; undefined before any reading.
   */
  estimate(device: EnergyDevice, busyMs: number): { joules: number; source: EnergySource } | undefined {
    const r = this.rate[device];
    if (r !== undefined) return { joules: r.joulesPerMs * busyMs, source: r.source };
    const p = this.powers.get(device);
    return p === undefined ? undefined : { joules: (p.watts * busyMs) / 1000, source: p.source };
  }

  /** Power and energy per device as of the last interval. */
  power(): DevicePower[] {
    return [...this.powers.values()];
  }

  /** Takes a first reading of every meter, then reads them every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    const at = this.now();
    for (const s of this.states) {
      s.joules = await s.meter.read();
      s.at = at;
    }
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** One interval: read every meter and attribute what each used since the last read. */
  tick(): Promise<void> {
    this.ticking ??= this.readAll().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async readAll(): Promise<void> {
    const attributed = new Set<EnergyDevice>();
    for (const s of this.states) {
      if (s.failed) continue;
      let joules: number;
      try {
        joules = await s.meter.read();
      } catch (err) {
        // A meter that fails once (a GPU fallen off the bus, a permission change) is dropped
        // rather than retried every interval with a log line each time.
        s.failed = true;
        this.onError(s.meter, err as Error);
        continue;
      }
      const at = this.now();
      const delta = joules - s.joules;
      const seconds = (at - s.at) / 1000;
      s.joules = joules;
      s.at = at;
      const { device, source } = s.meter;
      const previous = this.powers.get(device);
      this.powers.set(device, {
        device,
        source,
        watts: seconds > 0 ? delta / seconds : 0,
        joules: (previous?.joules ?? 0) + delta,
      });
      this.sink.power(device, source, seconds > 0 ? delta / seconds : 0);
      if (attributed.has(device)) continue;
      attributed.add(device);
      this.attribute(device, source, delta);
    }
  }

  private attribute(device: EnergyDevice, source: EnergySource, joules: number): void {
    const busy = [...this.busy[device].values()];
    this.busy[device].clear();
    const total = busy.reduce((n, b) => n + b.ms, 0);
    if (total <= 0) {
      if (joules > 0) this.sink.joules(IDLE, '', device, source, joules);
      return;
    }
    this.rate[device] = { joulesPerMs: joules / total, source };
    for (const b of busy) this.sink.joules(b.model, b.app, device, source, (joules * b.ms) / total);
  }
}
