// Which meters a node opens: measured ones where they can be read, the estimator otherwise in
// `auto`, and a clear configuration error when a named meter cannot be read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMeters, type MeterOptions } from './open.js';
import { WeftError } from '../../errors.js';

const quiet = { info: () => undefined, warn: () => undefined };
const noGpu = async (): Promise<string> => {
  throw new Error('spawn nvidia-smi ENOENT');
};

function options(over: Partial<MeterOptions>): MeterOptions {
  return { mode: 'auto', raplRoot: '/nonexistent', nvidiaSmi: 'nvidia-smi', cpuWattsPerCore: 10, idleWatts: 10, gpuTdpWatts: 300, gpu: false, gpuBusyMs: () => 0, spawn: noGpu, log: quiet, ...over };
}

describe('opening energy meters', () => {
  it('falls back to the CPU estimator in auto mode, and adds a GPU estimate only for GPU nodes', async () => {
    assert.deepEqual((await openMeters(options({}))).map((m) => `${m.device}:${m.source}`), ['cpu:estimated']);
    assert.deepEqual((await openMeters(options({ gpu: true }))).map((m) => `${m.device}:${m.source}`), ['cpu:estimated', 'cuda:estimated']);
  });

  it('reads nvidia-smi where it answers', async () => {
    const meters = await openMeters(options({ gpu: true, spawn: async () => '0, 71.5\n' }));
    assert.deepEqual(meters.map((m) => `${m.device}:${m.name}:${m.source}`), ['cpu:estimator:estimated', 'cuda:nvidia-smi:measured']);
  });

  it('refuses a named meter it cannot read, and opens none when off', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'weft-open-'));
    await assert.rejects(openMeters(options({ mode: 'rapl', raplRoot: empty })), (err: unknown) => err instanceof WeftError && err.field === 'energy' && /no RAPL package zones/.test(err.message));
    await assert.rejects(openMeters(options({ mode: 'nvidia' })), (err: unknown) => err instanceof WeftError && /ENOENT/.test(err.message));
    assert.deepEqual(await openMeters(options({ mode: 'off' })), []);
    assert.deepEqual((await openMeters(options({ mode: 'estimate', spawn: async () => '0, 71.5\n' }))).map((m) => m.name), ['estimator']);
    await rm(empty, { recursive: true });
  });
});
