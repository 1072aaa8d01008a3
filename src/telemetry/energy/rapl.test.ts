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
      { joules: (model, app, _d, source, j) => seen.push([`${model}/${app}`, source, j]), power: (_d, _s, w) => watts.push(w) },
      (_m, err) => assert.fail(err),
      () => clock,
    );
    await accountant.start(60_000);
    await accountant.stop(); // ticks are driven by hand below

    // 10 intervals of 1 s; package 0 draws 45 W, package 1 draws 20 W: 65 W in all.
    for (let i = 0; i < 10; i++) {
      p0 = (p0 + 45_000_000) % (MAX_UJ + 1);
      p1 += 20_000_000;
      await writeFile(join(root, 'intel-rapl:0', 'energy_uj'), `${p0}\n`);
      await writeFile(join(root, 'intel-rapl:1', 'energy_uj'), `${p1}\n`);
      await writeFile(join(root, 'intel-rapl:0:0', 'energy_uj'), `${i * 1e9}\n`);
      if (i < 8) {
        accountant.addBusy('cpu', 'a', '', 300);
        accountant.addBusy('cpu', 'b', 'ocr', 100);
      }
      clock += 1000;
      await accountant.tick();
    }

    const total = (key: string) => seen.filter(([k]) => k === key).reduce((n, [, , j]) => n + j, 0);
    const expectedTotal = 650;
    const reported = total('a/') + total('b/ocr') + total(`${IDLE}/`);
    assert.ok(Math.abs(reported - expectedTotal) / expectedTotal < 0.05, `reported ${reported} J, expected ${expectedTotal} J`);
    // 8 busy intervals of 65 J split 3:1, then 2 idle ones.
    assert.ok(Math.abs(total('a/') - 390) / 390 < 0.05, `model a: ${total('a/')} J`);
    assert.ok(Math.abs(total('b/ocr') - 130) / 130 < 0.05, `model b: ${total('b/ocr')} J`);
    assert.ok(Math.abs(total(`${IDLE}/`) - 130) / 130 < 0.05, `idle: ${total(`${IDLE}/`)} J`);
    assert.ok(seen.every(([, source]) => source === 'measured'));
    for (const w of watts) assert.ok(Math.abs(w - 65) < 65 * 0.05, `power ${w} W`);
    // A request that kept the CPU busy 100 ms in a busy interval used 65 J / 400 ms × 100 ms.
    assert.deepEqual(accountant.estimate('cpu', 100), { joules: 16.25, source: 'measured' });
  });

  it('fails to open a tree without package zones', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'weft-rapl-empty-'));
    await assert.rejects(RaplMeter.open(empty), /no RAPL package zones/);
    await rm(empty, { recursive: true });
  });
});
