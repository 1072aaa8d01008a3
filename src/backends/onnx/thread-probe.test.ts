import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeThreads, shouldProbe, PROBE_MAX_SESSION_BYTES } from './thread-probe.js';

/** Runs that take `ms` on a scripted clock. */
function scripted(msPerRun: number[]) {
  let clock = 0;
  const now = () => clock;
  const runOf = (ms: number) => async () => {
    clock += ms;
  };
  return { now, runs: msPerRun.map(runOf) };
}

test('one thread is kept when it runs clearly faster on the real batch; a close call keeps the default', async () => {
  const small = scripted([1.4, 0.9]);
  const kept = await probeThreads(small.runs[0]!, small.runs[1]!, {}, [], small.now);
  assert.equal(kept.oneThread, true);
  assert.match(kept.note, /^1 intra-op thread: 0\.90 ms per run on 1 intra-op thread, 1\.40 ms on the runtime's default \(median of 15, on a real batch\)$/);

  const large = scripted([19, 24]);
  const stays = await probeThreads(large.runs[0]!, large.runs[1]!, {}, [], large.now);
  assert.equal(stays.oneThread, false);
  assert.match(stays.note, /^the runtime's default intra-op threads: 24\.00 ms .* 19\.00 ms .*median of 7/);

  const close = scripted([10, 9.5]);
  assert.equal((await probeThreads(close.runs[0]!, close.runs[1]!, {}, [], close.now)).oneThread, false, 'within 10%: the default stays');
});

test('the probe runs only where the user chose nothing and there is a choice to make', () => {
  const auto = { device: 'cpu' as const, intraOpThreads: 0, instances: 1 };
  assert.equal(shouldProbe(auto, 'cpu', 10e6, 2), true);
  assert.equal(shouldProbe({ ...auto, intraOpThreads: 2 }, 'cpu', 10e6, 2), false, '--intra-op-threads set');
  assert.equal(shouldProbe({ ...auto, instances: 2 }, 'cpu', 10e6, 2), false, 'instances share the cores already');
  assert.equal(shouldProbe(auto, 'cuda', 10e6, 2), false);
  assert.equal(shouldProbe(auto, 'cpu', 10e6, 1), false, 'one core: one thread either way');
  assert.equal(shouldProbe(auto, 'cpu', PROBE_MAX_SESSION_BYTES + 1, 16), false, 'too large to open twice');
});
