// A synthetic powercap tree advancing at a known rate (with a counter wrap and a subzone that
// must not be counted twice): the meter and the accountant report the joules it implies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaplMeter } from './rapl.js';
import { EnergyAccountant, IDLE } from './accountant.js';

const MAX_UJ = 262_143_328_850;

async function zone(root: string, name: string, label: string, uj: number): Promise<void> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'name'), `${label}\n`);
  await writeFile(join(dir, 'max_energy_range_uj'), `${MAX_UJ}\n`);
  await writeFile(join(dir, 'energy_uj'), `${uj}\n`);
}

describe('RAPL meter on a synthetic powercap tree', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'weft-rapl-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports the joules of packages advancing at a known rate, across a counter wrap, within 5%', async () => {
    // Package 0 starts 30 J before its counter wraps; package 1 near zero. A core subzone inside
    // package 0 and a psys zone must not be added on top.
    let p0 = MAX_UJ - 30_000_000;
    let p1 = 1_000;
    await zone(root, 'intel-rapl:0', 'package-0', p0);
    await zone(root, 'intel-rapl:0:0', 'core', 5);
    await zone(root, 'intel-rapl:1', 'package-1', p1);
    await zone(root, 'intel-rapl:2', 'psys', 7);
    let clock = 0;
    const seen: Array<[string, string, number]> = [];
    const watts: number[] = [];
    const meter = await RaplMeter.open(root);
    const accountant = new EnergyAccountant(
      [meter],
      {
        joules: (share, _d, source, j) => void seen.push([`${share.model}/${share.app}`, source, j]),
        idle: (_d, source, j) => void seen.push([`${IDLE}/`, source, j]),
        node: (_d, _s, _j, w) => void watts.push(w),
      },
      (_m, err) => assert.fail(err),
      () => clock,
    );
    await accountant.start(3_600_000); // ticks are driven by hand below
    const a = { model: 'a', app: '', caller: 'x' };
    const b = { model: 'b', app: 'ocr', caller: 'y' };

    // 10 intervals of 1 s; package 0 draws 45 W, package 1 draws 20 W: 65 W in all.
    for (let i = 0; i < 10; i++) {
      p0 = (p0 + 45_000_000) % (MAX_UJ + 1);
      p1 += 20_000_000;
      await writeFile(join(root, 'intel-rapl:0', 'energy_uj'), `${p0}\n`);
      await writeFile(join(root, 'intel-rapl:1', 'energy_uj'), `${p1}\n`);
      await writeFile(join(root, 'intel-rapl:0:0', 'energy_uj'), `${i * 1e9}\n`);
      // Model a keeps the CPU busy 300 ms of the first 8 seconds, then model b 100 ms.
      if (i < 8) {
        const wa = accountant.startWork('cpu', [{ share: a, weight: 1 }]);
        clock += 300;
        wa.end();
        const wb = accountant.startWork('cpu', [{ share: b, weight: 1 }]);
        clock += 100;
        wb.end();
        clock += 600;
      } else clock += 1000;
      await accountant.tick();
    }

    const total = (key: string) => seen.filter(([k]) => k === key).reduce((n, [, , j]) => n + j, 0);
    const expectedTotal = 650;
    const reported = total('a/') + total('b/ocr') + total(`${IDLE}/`);
    assert.ok(Math.abs(reported - expectedTotal) / expectedTotal < 0.05, `reported ${reported} J, expected ${expectedTotal} J`);
    // Work is charged 65 W for its busy time: a 0.3 s and b 0.1 s of 8 intervals; the rest is idle.
    assert.ok(Math.abs(total('a/') - 156) / 156 < 0.05, `model a: ${total('a/')} J`);
    assert.ok(Math.abs(total('b/ocr') - 52) / 52 < 0.05, `model b: ${total('b/ocr')} J`);
    assert.ok(Math.abs(total(`${IDLE}/`) - 442) / 442 < 0.05, `idle: ${total(`${IDLE}/`)} J`);
    assert.ok(seen.every(([, source]) => source === 'measured'));
    for (const w of watts) assert.ok(Math.abs(w - 65) < 65 * 0.05, `power ${w} W`);
    // A request that kept the CPU busy 100 ms of a 1 s interval at 65 W used 6.5 J, however
    // little of the interval was busy.
    for (const [key, , j] of seen) if (key === 'b/ocr') assert.ok(Math.abs(j - 6.5) < 1e-6, `b: ${j} J`);
    await accountant.stop();
  });

  it('fails to open a tree without package zones', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'weft-rapl-empty-'));
    await assert.rejects(RaplMeter.open(empty), /no RAPL package zones/);
    await rm(empty, { recursive: true });
  });
});
