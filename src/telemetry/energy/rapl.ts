// Linux RAPL through powercap sysfs: sums the energy counters of the top-level package zones
// (`intel-rapl:N/energy_uj`; their subzones are already inside them, `psys` overlaps them) and
// turns the wrapping microjoule counters into one monotonic count of joules.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EnergyMeter } from './meter.js';

interface Zone {
  path: string;
  /** The counter wraps to 0 after this value. */
  maxUj: number;
  lastUj: number;
}

const PACKAGE_ZONE = /^intel-rapl:\d+$/;

async function readNumber(path: string): Promise<number> {
  const n = Number((await readFile(path, 'utf8')).trim());
  if (!Number.isFinite(n)) throw new Error(`${path} does not hold a number`);
  return n;
}

export class RaplMeter implements EnergyMeter {
  readonly name = 'rapl';
  readonly device = 'cpu' as const;
  readonly source = 'measured' as const;
  private joules = 0;

  private constructor(private readonly zones: Zone[]) {}

  /**
   * Opens the package zones under `root` (normally /sys/class/powercap). Fails when there are
   * none or their counters cannot be read (recent kernels let only root read them).
   */
  static async open(root: string): Promise<RaplMeter> {
    const names = (await readdir(root)).filter((n) => PACKAGE_ZONE.test(n)).sort();
    const zones: Zone[] = [];
    for (const name of names) {
      const dir = join(root, name);
      const label = (await readFile(join(dir, 'name'), 'utf8').catch(() => '')).trim();
      if (label === 'psys') continue;
      zones.push({ path: join(dir, 'energy_uj'), maxUj: await readNumber(join(dir, 'max_energy_range_uj')), lastUj: await readNumber(join(dir, 'energy_uj')) });
    }
    if (zones.length === 0) throw new Error(`no RAPL package zones under ${root}`);
    return new RaplMeter(zones);
  }

  async read(): Promise<number> {
    for (const zone of this.zones) {
      const uj = await readNumber(zone.path);
      // A smaller value means the counter wrapped once since the last read; reads are frequent
      // enough (the range is tens of minutes at full power) that it cannot have wrapped twice.
      const delta = uj >= zone.lastUj ? uj - zone.lastUj : zone.maxUj - zone.lastUj + uj;
      zone.lastUj = uj;
      this.joules += delta / 1e6;
    }
    return this.joules;
  }
}
