// nvidia-smi cannot run here (no GPU), so its output is played through the spawner seam: the
// meter integrates the power readings and rejects output without them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NvidiaSmiMeter, parsePowerDraw, QUERY_ARGS } from './nvidia.js';
import { CpuEstimator, GpuEstimator } from './estimator.js';

describe('nvidia-smi meter', () => {
  it('sums GPUs and integrates power over time', async () => {
    const outputs = ['0, 100.00\n1, 50.00\n', '0, 200.00\n1, 50.00\n', '0, 200.00\n1, 50.00\n'];
    const calls: string[][] = [];
    let clock = 0;
    const meter = await NvidiaSmiMeter.open(
      '/opt/nvidia-smi',
      async (command, args) => {
        calls.push([command, ...args]);
        return outputs.shift()!;
      },
      () => clock,
    );
    clock = 2000;
    assert.equal(await meter.read(), 400); // (150 W + 250 W) / 2 × 2 s
    clock = 3000;
    assert.equal(await meter.read(), 650);
    assert.deepEqual(calls[0], ['/opt/nvidia-smi', ...QUERY_ARGS]);
    assert.equal(meter.source, 'measured');
  });

  it('reads the power draw as nvidia-smi 580 prints it on an H200', () => {
    assert.equal(parsePowerDraw('0, 77.23\n'), 77.23);
  });

  it('rejects output without a power reading', () => {
    assert.throws(() => parsePowerDraw('0, [N/A]\n'), /no power reading for GPU 0/);
    assert.throws(() => parsePowerDraw(''), /no GPUs/);
  });

  it('fails to open when nvidia-smi cannot run', async () => {
    await assert.rejects(
      NvidiaSmiMeter.open('nvidia-smi', async () => {
        throw new Error('spawn nvidia-smi ENOENT');
      }),
      /ENOENT/,
    );
  });
});

describe('estimators', () => {
  it('estimates CPU energy from CPU time and idle power', async () => {
    let cpuUs = 1_000_000;
    let clock = 0;
    const est = new CpuEstimator(10, 5, () => cpuUs, () => clock);
    cpuUs += 2_000_000; // 2 core-seconds
    clock = 4000; // 4 s of wall time
    assert.equal(await est.read(), 2 * 10 + 4 * 5);
    assert.equal(est.source, 'estimated');
  });

  it('estimates GPU energy from busy time and board power', async () => {
    const est = new GpuEstimator(300, () => 1500);
    assert.equal(await est.read(), 450);
  });
});
