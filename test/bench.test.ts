// End to end: `weft bench` as a user runs it against a Weft node — closed and open loop, exact
// request counts, errors counted by kind (not hidden), the server-side breakdown, and charts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWeft, type WeftProcess } from './kit/weft-process.js';
import { writeTestModels } from './kit/models.js';
import { freePort } from './kit/net.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function bench(...args: string[]) {
  const out = spawnSync(process.execPath, [CLI, 'bench', ...args, '--settle', '0.3'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

describe('weft bench', () => {
  let dir: string;
  let weft: WeftProcess;
  let grpcPort: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
    await writeTestModels(dir);
    grpcPort = await freePort();
    weft = await startWeft(['--models', dir, '--energy-interval', '100ms', '--grpc-port', String(grpcPort)]);
  });
  after(async () => {
    await weft.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sweeps concurrency in closed loop and reports each step with the server breakdown', () => {
    const report = JSON.parse(bench(weft.url, '--model', 'affine', '--concurrency', '1,3', '--requests', '30', '--warmup', '0', '--json'));
    assert.match(report.workload, /KServe v2 JSON infer on 'affine'/);
    assert.equal(report.steps.length, 2);
    for (const [i, step] of report.steps.entries()) {
      assert.equal(step.concurrency, [1, 3][i]);
      assert.equal(step.ok, 30);
      assert.deepEqual(step.errors, {});
      assert.ok(step.throughput > 0);
      assert.ok(step.latencyMs.p50 > 0 && step.latencyMs.p50 <= step.latencyMs.p99 && step.latencyMs.p99 <= step.latencyMs.max);
      assert.ok(step.server.serverMs > 0, JSON.stringify(step.server));
      assert.ok(step.server.batchSize >= 1);
      assert.match(step.server.energySource, /measured|estimated/);
    }
  });

  it('counts refused requests by kind instead of hiding them', () => {
    // slow: a queue of 2; with 8 clients most requests are refused with 429.
    const report = JSON.parse(bench(weft.url, '--model', 'slow', '--concurrency', '8', '--requests', '40', '--warmup', '0', '--binary', '--json'));
    const step = report.steps[0];
    assert.ok(step.errors.http_429 > 0, JSON.stringify(step.errors));
    assert.equal(step.ok + step.errors.http_429, 40);
  });

  it('sends Poisson arrivals in open loop and writes the chart', () => {
    const svg = join(dir, 'sweep.svg');
    const png = join(dir, 'sweep.png');
    const report = JSON.parse(bench(weft.url, '--model', 'affine', '--rate', '40,80', '--requests', '25', '--warmup', '0', '--json', '--plot', svg));
    assert.deepEqual(
      report.steps.map((s: { rate: number; ok: number; dropped: number }) => [s.rate, s.ok + s.dropped]),
      [
        [40, 25],
        [80, 25],
      ],
    );
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg /);
    assert.equal(text.match(/<circle /g)?.length, 4, 'two series of two steps');
    bench(weft.url, '--model', 'affine', '--concurrency', '2', '--requests', '10', '--warmup', '0', '--plot', png);
    assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('prints a table a person can read', () => {
    const table = bench(weft.url, '--model', 'affine', '--concurrency', '2', '--requests', '10', '--warmup', '0', '--binary');
    assert.match(table, /KServe v2 binary infer on 'affine' at \/v2\/models\/affine\/infer/);
    assert.match(table, /step\s+req\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+max ms\s+errors\s+batch\s+queue ms\s+server ms\s+J\/req/);
    assert.match(table, /concurrency 2\s+\d/);
  });

  it('sends to another path when asked, and counts what that path answers', () => {
    const report = JSON.parse(bench(weft.url, '--model', 'affine', '--path', '/v2/models/affine/versions/1/infer', '--concurrency', '1', '--requests', '5', '--warmup', '0', '--json'));
    assert.equal(report.steps[0].ok, 5);
    const missing = JSON.parse(bench(weft.url, '--model', 'affine', '--path', '/nowhere', '--concurrency', '1', '--requests', '5', '--warmup', '0', '--json'));
    assert.deepEqual(missing.steps[0].errors, { http_404: 5 });
  });

  it('drives the gRPC transport with raw tensors, inputs from gRPC metadata, errors by status', () => {
    const report = JSON.parse(bench(weft.url, '--protocol', 'kserve-grpc', '--grpc', `127.0.0.1:${grpcPort}`, '--model', 'affine', '--concurrency', '1,3', '--requests', '20', '--warmup', '0', '--json'));
    assert.match(report.workload, new RegExp(`KServe v2 gRPC ModelInfer on 'affine' at 127.0.0.1:${grpcPort}, x FP32\\[1,4\\]`));
    for (const step of report.steps) {
      assert.equal(step.ok, 20);
      assert.deepEqual(step.errors, {});
      assert.ok(step.meanBatchSize >= 1, 'the batch size the node reports in the response parameters');
      assert.ok(step.server.serverMs > 0, 'the node served them: its /metrics moved');
    }
    const missing = spawnSync(process.execPath, [CLI, 'bench', weft.url, '--protocol', 'kserve-grpc', '--grpc', `127.0.0.1:${grpcPort}`, '--model', 'nope', '--requests', '1'], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /gRPC model metadata for 'nope'/);
    const refused = JSON.parse(bench(weft.url, '--protocol', 'kserve-grpc', '--grpc', `127.0.0.1:${grpcPort}`, '--model', 'affine', '--shape', 'x:FP32:1x5', '--concurrency', '1', '--requests', '3', '--warmup', '0', '--json'));
    assert.deepEqual(refused.steps[0].errors, { grpc_INVALID_ARGUMENT: 3 });
  });

  it('refuses bad options with a clear message', () => {
    const out = spawnSync(process.execPath, [CLI, 'bench', weft.url, '--model', 'affine', '--protocol', 'grpc'], { encoding: 'utf8' });
    assert.equal(out.status, 1);
    assert.match(out.stderr, /--protocol must be one of kserve-v2, kserve-grpc, openai, app/);
  });
});
