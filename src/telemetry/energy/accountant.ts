// Reads the energy meters at an interval and splits each interval's joules, exactly, between the
// work that ran in THAT interval and idle. Work (a batch, a generation) credits its shares busy
// milliseconds as time passes; when the interval closes, its joules are shared out (see settle).

import type { EnergyDevice, EnergyMeter, EnergySource } from './meter.js';

/** Model label of energy used while no request ran. */
export const IDLE = '_idle';

/** Whoever wants a share's joules as they settle (a request scope). */
export interface ShareOwner {
  /** A share of this owner joined work on a metered device: joules will follow. */
  opened(): void;
  joules(device: EnergyDevice, source: EnergySource, joules: number): void;
  /** The last interval covering that share's work has closed: no more joules will follow. */
  settled(): void;
}

/** One party to a piece of work: the labels its joules count under, and who else gets them. */
export interface Share {
  model: string;
  app: string;
  caller: string;
  owner?: ShareOwner | undefined;
}

export interface EnergySink {
  /** Joules a share earned in one closed interval. */
  joules(share: Share, device: EnergyDevice, source: EnergySource, joules: number): void;
  /** The part of an interval's joules no work was busy for. */
  idle(device: EnergyDevice, source: EnergySource, joules: number): void;
  /** What the device's meter counted in the interval: the sum of the two above. */
  node(device: EnergyDevice, source: EnergySource, joules: number, watts: number): void;
}

/** Work in progress on a device; parties may join and leave (concurrent generations). */
export interface Work {
  /** Adds a party; busy time from now on is split between parties by weight. */
  join(share: Share, weight?: number): void;
  leave(share: Share): void;
  /** All parties leave. */
  end(): void;
}

export interface DevicePower {
  device: EnergyDevice;
  source: EnergySource;
  watts: number;
  joules: number;
}

interface MeterState {
  meter: EnergyMeter;
  joules: number;
  failed: boolean;
}

/** Per device: busy time credited since the last close, and shares waiting for it. */
class Book {
  metered = false;
  /** When busy time was last credited (the start of the open interval). */
  lastAt = 0;
  totalBusyMs = 0;
  readonly busy = new Map<Share, number>();
  readonly leaving: Share[] = [];
  readonly works = new Set<ActiveWork>();

  credit(share: Share, ms: number): void {
    this.busy.set(share, (this.busy.get(share) ?? 0) + ms);
    this.totalBusyMs += ms;
  }
}

class ActiveWork implements Work {
  private readonly parties = new Map<Share, number>();
  private weight = 0;

  constructor(
    private readonly book: Book,
    private since: number,
    private readonly now: () => number,
  ) {}

  /** Credits the time since the last credit to the parties, by weight. */
  credit(at: number): void {
    const ms = at - this.since;
    this.since = at;
    if (ms <= 0 || this.weight <= 0 || !this.book.metered) return;
    for (const [share, w] of this.parties) this.book.credit(share, (ms * w) / this.weight);
  }

  join(share: Share, weight = 1): void {
    if (this.parties.has(share) || !this.book.metered) return;
    this.credit(this.now());
    this.parties.set(share, weight);
    this.weight += weight;
    share.owner?.opened();
  }

  leave(share: Share): void {
    const w = this.parties.get(share);
    if (w === undefined) return;
    this.credit(this.now());
    this.parties.delete(share);
    this.weight -= w;
    if (this.parties.size === 0) this.weight = 0;
    if (this.book.metered) this.book.leaving.push(share);
    else share.owner?.settled();
  }

  end(): void {
    this.credit(this.now());
    for (const share of [...this.parties.keys()]) this.leave(share);
    this.book.works.delete(this);
  }

  /** Its device is no longer metered: the parties settle with what they have. */
  abandon(): void {
    for (const share of this.parties.keys()) share.owner?.settled();
    this.parties.clear();
    this.weight = 0;
  }
}

export class EnergyAccountant {
  private readonly books: Record<EnergyDevice, Book> = { cpu: new Book(), cuda: new Book() };
  private readonly states: MeterState[] = [];
  private readonly powers = new Map<EnergyDevice, DevicePower>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    meters: readonly EnergyMeter[],
    private readonly sink: EnergySink,
    private readonly onError: (meter: EnergyMeter, err: Error) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const meter of meters) this.states.push({ meter, joules: 0, failed: false });
  }

  /** Milliseconds `device` has been busy since start, as credited so far, over all work. */
  busyMs(device: EnergyDevice): number {
    return this.books[device].totalBusyMs;
  }

  /** Whether joules on `device` are counted (a meter reads it). */
  metered(device: EnergyDevice): boolean {
    return this.books[device].metered;
  }

  /** Work starting now on `device` with these parties (weights: rows of a batch). */
  startWork(device: EnergyDevice, parties: ReadonlyArray<{ share: Share; weight: number }> = []): Work {
    const book = this.books[device];
    const work = new ActiveWork(book, this.now(), this.now);
    if (book.metered && !this.stopped) book.works.add(work);
    for (const p of parties) work.join(p.share, p.weight);
    return work;
  }

  /** Power and energy per device as of the last interval. */
  power(): DevicePower[] {
    return [...this.powers.values()];
  }

  /** Takes a first reading of every meter, then reads them every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    for (const s of this.states) {
      s.joules = await s.meter.read();
    }
    const at = this.now();
    for (const s of this.states) {
      const book = this.books[s.meter.device];
      book.metered = true;
      book.lastAt = at;
    }
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Closes the open interval (so every share settles), then stops reading. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await this.tick();
    this.stopped = true;
    for (const device of ['cpu', 'cuda'] as const) this.unmeter(device);
  }

  /** One interval: credit running work up to now, read every meter and settle the interval. */
  tick(): Promise<void> {
    this.ticking ??= this.readAll().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async readAll(): Promise<void> {
    if (this.stopped) return;
    const at = this.now();
    for (const book of Object.values(this.books)) for (const w of book.works) w.credit(at);
    const settled = new Set<EnergyDevice>();
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
      const delta = Math.max(0, joules - s.joules);
      s.joules = joules;
      const { device, source } = s.meter;
      // One meter per device settles it; openMeters never opens two.
      if (settled.has(device)) continue;
      settled.add(device);
      this.settle(device, source, delta, at);
    }
    for (const device of ['cpu', 'cuda'] as const) {
      if (this.books[device].metered && !this.states.some((s) => !s.failed && s.meter.device === device)) this.unmeter(device);
    }
  }

  /**
   * Splits one closed interval's joules. Work is charged the interval's mean power for the time
   * it kept the device busy: a share gets joules × its busy ms / the interval's ms, and the rest
   * is idle; when the busy time of concurrent work exceeds the interval, all of the joules go to
   * work, by busy time. Idle is the remainder, so the parts sum to the meter's count exactly.
   */
  private settle(device: EnergyDevice, source: EnergySource, joules: number, at: number): void {
    const book = this.books[device];
    const intervalMs = at - book.lastAt;
    book.lastAt = at;
    const busy = [...book.busy];
    book.busy.clear();
    const leaving = book.leaving.splice(0);
    const busyMs = busy.reduce((n, [, ms]) => n + ms, 0);
    const previous = this.powers.get(device);
    const watts = intervalMs > 0 ? (joules * 1000) / intervalMs : 0;
    this.powers.set(device, { device, source, watts, joules: (previous?.joules ?? 0) + joules });
    this.sink.node(device, source, joules, watts);
    let given = 0;
    if (busyMs > 0) {
      const worked = intervalMs > busyMs ? (joules * busyMs) / intervalMs : joules;
      for (const [share, ms] of busy) {
        const j = worked * (ms / busyMs);
        given += j;
        this.sink.joules(share, device, source, j);
        share.owner?.joules(device, source, j);
      }
    }
    // Rounding can make the shares' sum exceed a fully busy interval by an ulp or so.
    this.sink.idle(device, source, Math.max(0, joules - given));
    for (const share of leaving) share.owner?.settled();
  }

  /** A device no meter reads any more: pending shares settle with what they have. */
  private unmeter(device: EnergyDevice): void {
    const book = this.books[device];
    book.metered = false;
    book.busy.clear();
    for (const work of book.works) work.abandon();
    book.works.clear();
    for (const share of book.leaving.splice(0)) share.owner?.settled();
  }
}
