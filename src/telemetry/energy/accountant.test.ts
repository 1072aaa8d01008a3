// The energy invariant, property-based: random batches (rows shared by several requests, spanning
// meter intervals) and concurrent generations run against a scripted meter on a scripted clock.
// Over every window of closed intervals, the joules per request, per caller, per model, per app
// plus idle equal what the meter counted; and each share is exactly the interval's mean power
// times its busy time, computed here independently from the script.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EnergyAccountant, type Share, type ShareOwner } from './accountant.js';
import type { EnergyMeter } from './meter.js';

interface Batch {
  kind: 'batch';
  start: number;
  ms: number;
  members: Array<{ request: number; rows: number }>;
}
interface Generation {
  kind: 'generation';
  start: number;
  ms: number;
  request: number;
  model: number;
}
type Job = Batch | Generation;

const REQUESTS = 6;
const request = fc.integer({ min: 0, max: REQUESTS - 1 });
const time = fc.double({ min: 0, max: 3000, noNaN: true });
const duration = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1500, noNaN: true }));
const batch: fc.Arbitrary<Job> = fc.record({
  kind: fc.constant('batch' as const),
  start: time,
  ms: duration,
  members: fc.array(fc.record({ request, rows: fc.integer({ min: 0, max: 8 }) }), { minLength: 1, maxLength: 4 }),
});
const generation: fc.Arbitrary<Job> = fc.record({ kind: fc.constant('generation' as const), start: time, ms: duration, request, model: fc.integer({ min: 0, max: 1 }) });
const script = fc.record({
  intervals: fc.array(fc.record({ ms: fc.double({ min: 1, max: 1000, noNaN: true }), joules: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 500, noNaN: true })) }), {
    minLength: 1,
    maxLength: 8,
  }),
  jobs: fc.array(fc.oneof(batch, generation), { maxLength: 12 }),
});

const callerOf = (r: number) => `caller${r % 3}`;
const appOf = (r: number) => (r % 2 === 0 ? '' : `app${r % 4}`);

function close(actual: number, expected: number, scale: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(scale, 1e-300), `${what}: ${actual} ≠ ${expected}`);
}

/** Overlap of [a, b) with [c, d). */
const overlap = (a: number, b: number, c: number, d: number) => Math.max(0, Math.min(b, d) - Math.max(a, c));

/** Busy ms each (job, member) had in each interval, computed from the script alone. */
function expectedBusy(jobs: Job[], bounds: number[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (key: string, k: number, ms: number) => {
    const row = out.get(key) ?? new Array<number>(bounds.length - 1).fill(0);
    row[k]! += ms;
    out.set(key, row);
  };
  jobs.forEach((job, j) => {
    if (job.kind !== 'batch') return;
    const rows = job.members.reduce((n, m) => n + m.rows, 0);
    job.members.forEach((m, i) => {
      const weight = rows > 0 ? m.rows / rows : 1 / job.members.length;
      for (let k = 0; k + 1 < bounds.length; k++) add(`${j}/${i}`, k, overlap(job.start, job.start + job.ms, bounds[k]!, bounds[k + 1]!) * weight);
    });
  });
  // Generations of one model share its time equally: sweep the elementary segments.
  const cuts = [...new Set([...bounds, ...jobs.flatMap((g) => (g.kind === 'generation' ? [g.start, g.start + g.ms] : []))])].sort((a, b) => a - b);
  for (let c = 0; c + 1 < cuts.length; c++) {
    const [a, b] = [cuts[c]!, cuts[c + 1]!];
    const k = bounds.findIndex((t, i) => i + 1 < bounds.length && a >= t && b <= bounds[i + 1]!);
    if (k < 0) continue;
    for (const model of [0, 1]) {
      const active = jobs.map((g, j) => [g, j] as const).filter(([g]) => g.kind === 'generation' && g.model === model && g.start <= a && g.start + g.ms >= b && g.ms > 0);
      for (const [, j] of active) add(`${j}/0`, k, (b - a) / active.length);
    }
  }
  return out;
}

describe('energy accountant invariant', () => {
  it('splits every closed interval exactly between requests and idle, by busy time in that interval', async () => {
    await fc.assert(
      fc.asyncProperty(script, async ({ intervals, jobs }) => {
        let now = 0;
        let meterJoules = 0;
        const meter: EnergyMeter = { name: 'scripted', device: 'cpu', source: 'measured', read: async () => meterJoules };
        let interval = 0;
        const node: number[] = intervals.map(() => 0);
        const idle: number[] = intervals.map(() => 0);
        const got = new Map<string, number[]>();
        const groups = { request: new Map<string, number[]>(), caller: new Map<string, number[]>(), model: new Map<string, number[]>(), app: new Map<string, number[]>() };
        const addTo = (m: Map<string, number[]>, key: string, j: number) => {
          const row = m.get(key) ?? intervals.map(() => 0);
          row[interval]! += j;
          m.set(key, row);
        };
        const owners: Array<ShareOwner & { open: number; settledAt: number[] }> = [];
        for (let r = 0; r < REQUESTS; r++) {
          const o = {
            open: 0,
            settledAt: [] as number[],
            opened: () => void o.open++,
            joules: (_d: unknown, _s: unknown, j: number) => addTo(groups.request, String(r), j),
            settled: () => void o.settledAt.push(now),
          };
          owners.push(o);
        }
        const keys = new Map<Share, string>();
        const accountant = new EnergyAccountant(
          [meter],
          {
            joules: (share, _d, _s, j) => {
              addTo(got, keys.get(share)!, j);
              addTo(groups.caller, share.caller, j);
              addTo(groups.model, share.model, j);
              addTo(groups.app, share.app, j);
            },
            idle: (_d, _s, j) => void (idle[interval]! += j),
            node: (_d, _s, j) => void (node[interval]! += j),
          },
          (_m, err) => assert.fail(err),
          () => now,
        );
        await accountant.start(1e9);
        const bounds = [0];
        for (const i of intervals) bounds.push(bounds.at(-1)! + i.ms);
        const share = (key: string, r: number, model: string): Share => {
          const s = { model, app: appOf(r), caller: callerOf(r), owner: owners[r] };
          keys.set(s, key);
          return s;
        };

        // Events in time order; at one instant, starts before ends before the meter's tick.
        type Event = { at: number; order: number; run: () => void | Promise<void> };
        const events: Event[] = [];
        const generations = new Map<number, ReturnType<EnergyAccountant['startWork']>>();
        const genRunning = new Map<number, number>();
        jobs.forEach((job, j) => {
          if (job.kind === 'batch') {
            let work: ReturnType<EnergyAccountant['startWork']>;
            const rows = job.members.reduce((n, m) => n + m.rows, 0);
            events.push({ at: job.start, order: 0, run: () => void (work = accountant.startWork('cpu', job.members.map((m, i) => ({ share: share(`${j}/${i}`, m.request, `model${j % 3}`), weight: rows > 0 ? m.rows : 1 })))) });
            events.push({ at: job.start + job.ms, order: 1, run: () => work.end() });
          } else {
            const s = share(`${j}/0`, job.request, `llm${job.model}`);
            events.push({
              at: job.start,
              order: 0,
              run: () => {
                if (!generations.has(job.model)) generations.set(job.model, accountant.startWork('cpu'));
                genRunning.set(job.model, (genRunning.get(job.model) ?? 0) + 1);
                generations.get(job.model)!.join(s);
              },
            });
            events.push({
              at: job.start + job.ms,
              order: 1,
              run: () => {
                generations.get(job.model)!.leave(s);
                const n = genRunning.get(job.model)! - 1;
                genRunning.set(job.model, n);
                if (n === 0) {
                  generations.get(job.model)!.end();
                  generations.delete(job.model);
                }
              },
            });
          }
        });
        intervals.forEach((iv, k) =>
          events.push({
            at: bounds[k + 1]!,
            order: 2,
            run: async () => {
              interval = k;
              meterJoules += iv.joules;
              await accountant.tick();
            },
          }),
        );
        events.sort((a, b) => a.at - b.at || a.order - b.order);
        const last = bounds.at(-1)!;
        for (const e of events) {
          if (e.at > last) break;
          now = e.at;
          await e.run();
        }

        // 1. Every window of closed intervals adds up, grouped any way.
        const sum = (row: number[] | undefined, i: number, j: number) => (row ?? []).slice(i, j + 1).reduce((n, x) => n + x, 0);
        for (let i = 0; i < intervals.length; i++) {
          for (let j = i; j < intervals.length; j++) {
            const meterTotal = intervals.slice(i, j + 1).reduce((n, x) => n + x.joules, 0);
            close(sum(node, i, j), meterTotal, meterTotal, 'node');
            const idleSum = sum(idle, i, j);
            for (const [name, g] of Object.entries(groups)) {
              const parts = [...g.values()].reduce((n, row) => n + sum(row, i, j), 0);
              close(parts + idleSum, meterTotal, meterTotal, `${name} + idle over intervals ${i}..${j}`);
            }
          }
        }
        // 2. Each share got the interval's mean power × its busy ms (all of the joules, by busy
        //    time, when concurrent work was busier than the interval was long).
        const busy = expectedBusy(jobs, bounds);
        for (let k = 0; k < intervals.length; k++) {
          const { ms, joules } = intervals[k]!;
          const total = [...busy.values()].reduce((n, row) => n + row[k]!, 0);
          for (const [key, row] of busy) {
            const want = total <= 0 ? 0 : (joules * row[k]!) / Math.max(ms, total);
            close(got.get(key)?.[k] ?? 0, want, joules, `share ${key} in interval ${k}`);
          }
          close(idle[k]!, total >= ms ? 0 : (joules * (ms - total)) / ms, joules, `idle in interval ${k}`);
        }
        // 3. A request's shares settle once the interval covering the end of their work closed.
        jobs.forEach((job) => {
          if (job.start + job.ms > last) return;
          const requests = job.kind === 'batch' ? job.members.map((m) => m.request) : [job.request];
          for (const r of requests) assert.ok(owners[r]!.settledAt.length > 0, `request ${r} settled`);
        });
        for (const o of owners) {
          assert.ok(o.settledAt.length <= o.open);
          for (const at of o.settledAt) assert.ok(bounds.includes(at), 'settles when an interval closes');
        }
        await accountant.stop();
        for (const o of owners) assert.equal(o.settledAt.length, o.open, 'every share settles by stop()');
      }),
      { numRuns: 300 },
    );
  });

  it('charges nothing and settles at once on a device no meter reads', async () => {
    const accountant = new EnergyAccountant([], { joules: () => assert.fail('no joules'), idle: () => undefined, node: () => undefined }, () => undefined);
    await accountant.start(1e9);
    let opened = 0;
    const work = accountant.startWork('cuda', [{ share: { model: 'm', app: '', caller: 'c', owner: { opened: () => void opened++, joules: () => undefined, settled: () => undefined } }, weight: 1 }]);
    work.end();
    assert.equal(opened, 0);
    assert.equal(accountant.metered('cuda'), false);
    await accountant.stop();
  });
});
