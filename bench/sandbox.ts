// Sandbox benchmark, in one run: component start (cold worker, fresh instance in a warm
// worker), a warm call, the overhead of a model call made from a component against the same
// call made on the engine directly, and the OCR app end to end on the embedded default.
// Runs the built dist/ (workers as users run them): `npm run build && node --import tsx bench/sandbox.ts`.

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { testComponent, writeApp } from '../test/kit/components.js';
import { writeTestModels } from '../test/kit/models.js';
import { renderText } from '../test/kit/render.js';

type SandboxModule = typeof import('../src/sandbox/index.js');
type EngineModule = typeof import('../src/engine/index.js');
const dist = (p: string) => new URL(`../dist/${p}`, import.meta.url).href;
const { Sandbox } = (await import(dist('sandbox/index.js'))) as SandboxModule;
const { ModelService, scanRepository } = (await import(dist('engine/index.js'))) as EngineModule;
const { LlamaBackend, OnnxBackend } = (await import(dist('backends/index.js'))) as typeof import('../src/backends/index.js');
const { openAppFolder } = (await import(dist('bundle/index.js'))) as typeof import('../src/bundle/index.js');
const { loadConfig } = (await import(dist('config/index.js'))) as typeof import('../src/config/index.js');
const { startNode } = (await import(dist('node.js'))) as typeof import('../src/node.js');
const { createLogger } = (await import(dist('telemetry/index.js'))) as typeof import('../src/telemetry/index.js');
const { percentile } = (await import(dist('bench/index.js'))) as typeof import('../src/bench/index.js');

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-sandbox-'));
const quiet = createLogger('error', () => {});
const results: Array<[string, string]> = [];
const record = (what: string, value: string) => {
  results.push([what, value]);
  console.log(`${what}: ${value}`);
};

/** Nearest-rank percentiles: the one percentile function, weft bench's and telemetry's. */
function stats(samples: number[]): { mean: number; p50: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: percentile(s, 50), p95: percentile(s, 95) };
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

try {
  // ---------------------------------------------------------------- small component
  await writeTestModels(join(dir, 'models'));
  const config = loadConfig({ flags: { models: join(dir, 'models') } });
  const engine = new ModelService(scanRepository(join(dir, 'models'), config), {
    tensorBackend: new OnnxBackend({ warn: () => {} }),
    llamaBackend: new LlamaBackend({ warn: () => {} }),
    memoryBudget: { cpu: 1e9, cuda: 1e9 },
    log: quiet,
    healthIntervalMs: 1000,
    retryMs: 1000,
  });
  const echo = await testComponent('echo');
  const manifest = (name: string, instances: 'pooled' | 'per-request') =>
    openAppFolder(writeApp(join(dir, name), echo, { name, version: '1.0.0', component: { instances, grants: { models: ['affine'], config: {} } } }));
  const dataDir = join(dir, 'data');
  // The first deploy transpiles and caches; later ones reuse the cache.
  let sandbox = new Sandbox({ engine, log: quiet, dataDir });
  let t = performance.now();
  await sandbox.deploy(manifest('echo', 'pooled'));
  record('first deploy of a 29 KB component (transpile + cache + compile + worker + instantiate)', `${(performance.now() - t).toFixed(1)} ms`);
  await sandbox.close();

  const colds: number[] = [];
  const instantiates: number[] = [];
  for (let i = 0; i < 10; i++) {
    sandbox = new Sandbox({ engine, log: quiet, dataDir });
    t = performance.now();
    const d = await sandbox.deploy(manifest('echo', 'pooled'));
    colds.push(performance.now() - t);
    instantiates.push(d.instantiateMs);
    await sandbox.close();
  }
  record('cold start: deploy from cache (compile + new worker + instantiate), p50 of 10', `${stats(colds).p50.toFixed(1)} ms`);
  record('instantiate one instance inside a worker, p50 of 10', `${stats(instantiates).p50.toFixed(2)} ms`);

  sandbox = new Sandbox({ engine, log: quiet, dataDir });
  await sandbox.deploy(manifest('echo', 'pooled'));
  const hello = await testComponent('hello');
  await sandbox.deploy(openAppFolder(writeApp(join(dir, 'hello'), hello, { name: 'hello', version: '1.0.0' })));
  await sandbox.deploy(openAppFolder(writeApp(join(dir, 'fresh'), hello, { name: 'fresh', version: '1.0.0', component: { instances: 'per-request' } })));
  const req = (query: string) => ({ method: 'POST', path: '/', query, headers: [] as Array<[string, string]>, body: new Uint8Array(16) });
  const N = 2000;
  await time(200, () => sandbox.handle('echo', req('a=1')));
  const warm = stats(await time(N, () => sandbox.handle('echo', req('a=1'))));
  record(`warm call to echo (logs, reads config, lists models), pooled, mean of ${N}`, us(warm.mean));
  await time(200, () => sandbox.handle('hello', req('')));
  const warmHello = stats(await time(N, () => sandbox.handle('hello', req(''))));
  record(`warm call to hello (answers "hi"), pooled, mean of ${N}`, us(warmHello.mean));
  await time(50, () => sandbox.handle('fresh', req('a=1')));
  const fresh = stats(await time(500, () => sandbox.handle('fresh', req('a=1'))));
  record('call to hello with a fresh instance per request (per-request mode), mean of 500', us(fresh.mean));
  record('warm start: fresh instance in a warm worker (per-request minus pooled call to hello)', us(fresh.mean - warmHello.mean));

  const x = { x: { datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } };
  await time(200, () => engine.infer('affine', undefined, { inputs: x, outputs: [] }));
  const direct = stats(await time(N, () => engine.infer('affine', undefined, { inputs: x, outputs: [] })));
  await time(200, () => sandbox.handle('echo', req('model=affine')));
  const viaComponent = stats(await time(N, () => sandbox.handle('echo', req('model=affine'))));
  record(`engine.infer('affine') called directly, mean of ${N}`, us(direct.mean));
  record(`component request making signature + run calls on 'affine', mean of ${N}`, us(viaComponent.mean));
  // Per model call: a request making 101 calls against one making 1, so the request's own cost cancels.
  const R = 100;
  await time(20, () => sandbox.handle('echo', req(`model=affine&repeat=${R + 1}`)));
  const many = stats(await time(100, () => sandbox.handle('echo', req(`model=affine&repeat=${R + 1}`))));
  const perCall = (many.mean - viaComponent.mean) / R;
  record(`one model call from a component (requests with ${R + 1} vs 1 calls, per call)`, us(perCall));
  record('overhead per model call: component minus direct engine.infer', us(perCall - direct.mean));
  await sandbox.close();
  await engine.shutdown();

  // ---------------------------------------------------------------- OCR end to end
  const node = await startNode(loadConfig({ flags: { port: '0', 'data-dir': dataDir, 'log-level': 'error' } }), quiet);
  const url = `http://127.0.0.1:${node.address.port}/apps/ocr`;
  const image = (await renderText(['Hello Weft 2026', 'inference at the edge', 'OCR 12345'])).png;
  const call = async () => {
    const res = await fetch(url, { method: 'POST', body: new Uint8Array(image) });
    if (res.status !== 200) throw new Error(`OCR answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  await time(5, call);
  const ocr = stats(await time(30, call));
  record('OCR end to end, 640x280 PNG with 3 lines, sequential (p50 / p95 of 30)', `${ocr.p50.toFixed(1)} / ${ocr.p95.toFixed(1)} ms`);
  for (const concurrency of [2, 4]) {
    let done = 0;
    const until = performance.now() + 5000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          await call();
          done++;
        }
      }),
    );
    record(`OCR throughput, ${concurrency} clients for 5 s`, `${(done / ((performance.now() - started) / 1000)).toFixed(1)} images/s`);
  }
  await node.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}`);
console.log('| measurement | result |\n| --- | --- |');
for (const [what, value] of results) console.log(`| ${what} | ${value} |`);
