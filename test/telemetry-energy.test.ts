// End to end: the energy invariant on a real `weft serve` under a mixed load — OCR app requests,
// KServe requests and LLM chat completions on the tiny GGUF, from three tenants at once — with the
// estimating meter (this process's CPU time and 10 W idle, the setting of the report). Over the load's window, the joules per caller plus idle, and the joules
// on the request spans (OTLP) plus idle, equal what the meter counted; a real Prometheus sees the
// same sum, app requests by app, and the language model in the queue gauges.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { startPrometheus, type PrometheusProcess } from './kit/prometheus.js';
import { startOtlpReceiver, type OtlpReceiver } from './kit/otlp-receiver.js';
import { openAiClient } from './kit/llm.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { renderText } from './kit/render.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const OCR_APP = fileURLToPath(new URL('../examples/ocr/', import.meta.url));
const CLS_INPUT = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.25) };

/** Sum of a metric's samples in Prometheus text, optionally only those whose labels include `labels`. */
function total(text: string, name: string, labels = ''): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (m[1]!.includes(labels)) n += Number(m[2]);
  return n;
}

interface Energy {
  node: number;
  idle: number;
  callers: number;
  models: number;
  byCaller: Map<string, number>;
}

function energy(text: string): Energy {
  const byCaller = new Map<string, number>();
  for (const m of text.matchAll(/^weft_caller_energy_joules_total\{caller="([^"]+)",[^}]*\} (\S+)$/gm)) byCaller.set(m[1]!, (byCaller.get(m[1]!) ?? 0) + Number(m[2]));
  return {
    node: total(text, 'weft_node_energy_joules_total'),
    idle: total(text, 'weft_energy_joules_total', 'model="_idle"'),
    callers: total(text, 'weft_caller_energy_joules_total'),
    models: total(text, 'weft_energy_joules_total'),
    byCaller,
  };
}

function within(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('energy adds up under OCR, KServe and LLM load', () => {
  let dir: string;
  let weft: WeftProcess;
  let receiver: OtlpReceiver;
  let prometheus: PrometheusProcess;
  let before_: Energy;
  let after_: Energy;
  let afterText = '';
  let stats: any;
  const tenants = { ocr: 'tenant-ocr', kserve: 'tenant-kserve', llm: 'tenant-llm' };
  const WARMUP = 'tenant-warmup';
  let warmupId = '';
  const counts = { ocr: 2, kserve: 6, llm: 3 };

  const metrics = async () => (await fetch(`${weft.url}/metrics`)).text();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-e2e-energy-'));
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    receiver = await startOtlpReceiver();
    weft = await startWeft(
      [
        ...['--model', `tiny=${gguf}`, '--llm-threads', '1', '--app', OCR_APP, '--allow-unsigned'],
        ...['--energy', 'estimate', '--idle-watts', '10', '--energy-interval', '100ms', ...[...Object.values(tenants), WARMUP].flatMap((t) => ['--caller-names', t])],
      ],
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_on', WEFT_DATA_DIR: join(dir, 'data') },
    );
    prometheus = await startPrometheus([new URL(weft.url).host]);
    for (let i = 0; i < 200 && total(await metrics(), 'weft_node_energy_joules_total') === 0; i++) await sleep(50);
    const image = (await renderText(['Energy adds up', 'per request'], 480, 50, 30)).png;
    const client = openAiClient(weft.url);
    const ocr = async (tenant: string) => {
      const res = await fetch(`${weft.url}/apps/ocr`, { method: 'POST', headers: { 'x-weft-tenant': tenant }, body: new Uint8Array(image) });
      assert.equal(res.status, 200, `${await res.text()}\n${weft.logs()}`);
    };
    const kserve = async (tenant: string) => {
      const res = await fetch(`${weft.url}/v2/models/ppocr-cls/infer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-weft-tenant': tenant },
        body: JSON.stringify({ inputs: [CLS_INPUT] }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    const chat = async (tenant: string) => {
      const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Count the joules.' }], max_tokens: 24 }, { headers: { 'x-weft-tenant': tenant } });
      assert.ok(r.usage!.completion_tokens > 0);
    };
    // One of each first, one at a time, so that the lazy models load outside the window (a
    // loaded machine would otherwise push the OCR app past its deadline).
    await kserve(WARMUP);
    await ocr(WARMUP);
    await chat(WARMUP);
    const rootSpans = () => receiver.spans.filter((s) => s.kind === 2);
    for (let i = 0; i < 300 && rootSpans().length < 3; i++) await sleep(100);
    warmupId = (await fetchJson(`${weft.url}/admin/stats`)).body.callerNames.find((c: { tenant: string }) => c.tenant === WARMUP).caller;
    before_ = energy(await metrics());

    const load = [
      ...Array.from({ length: counts.ocr }, () => ocr(tenants.ocr)),
      ...Array.from({ length: counts.kserve }, () => kserve(tenants.kserve)),
      ...Array.from({ length: counts.llm }, () => chat(tenants.llm)),
    ];
    await Promise.all(load);
    // Every request span ends once its joules have settled; then only idle joules accrue.
    const requests = counts.ocr + counts.kserve + counts.llm;
    for (let i = 0; i < 300 && rootSpans().length < requests + 3; i++) await sleep(100);
    afterText = await metrics();
    after_ = energy(afterText);
    stats = (await fetchJson(`${weft.url}/admin/stats`)).body;
  });
  after(async () => {
    await prometheus?.stop();
    await weft?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('per caller plus idle sums to the node total over the window', () => {
    const node = after_.node - before_.node;
    const idle = after_.idle - before_.idle;
    assert.ok(node > 0);
    within(after_.callers - before_.callers + idle, node, 0.01, 'callers + idle');
    within(after_.models - before_.models, node, 0.01, 'models and apps + idle');
    const names = new Map<string, string>(stats.callerNames.map((c: { tenant: string; caller: string }) => [c.tenant, c.caller]));
    for (const tenant of Object.values(tenants)) {
      const id = names.get(tenant)!;
      assert.match(id, /^[0-9a-f]{12}$/);
      const joules = (after_.byCaller.get(id) ?? 0) - (before_.byCaller.get(id) ?? 0);
      assert.ok(joules > 0, `${tenant} was charged ${joules} J`);
      // A caller's share is a part of the whole, never more (it was 2x the node's total before).
      assert.ok(joules < node, `${tenant}: ${joules} J of ${node} J`);
      assert.equal(stats.callers.find((c: { caller: string }) => c.caller === id)?.name, tenant);
    }
    // The tenants' names are only ever in the admin API, never on /metrics.
    for (const tenant of Object.values(tenants)) assert.ok(!afterText.includes(tenant));
  });

  it('per request (the spans) plus idle sums to the node total over the window', () => {
    const roots = receiver.spans.filter((s) => s.kind === 2 && s.attributes['weft.caller'] !== warmupId);
    assert.equal(roots.length, counts.ocr + counts.kserve + counts.llm, JSON.stringify(roots.map((s) => s.name)));
    const joules = roots.map((s) => s.attributes['weft.energy.joules']);
    assert.ok(joules.every((j) => typeof j === 'number' && j > 0), JSON.stringify(roots.map((s) => [s.name, s.attributes['weft.energy.joules']])));
    const internal = (after_.byCaller.get('_internal') ?? 0) - (before_.byCaller.get('_internal') ?? 0);
    const requests = (joules as number[]).reduce((n, j) => n + j, 0);
    within(requests + internal + (after_.idle - before_.idle), after_.node - before_.node, 0.01, 'requests + idle');
    const llm = roots.filter((s) => s.name === 'chat tiny');
    assert.equal(llm.length, counts.llm);
    assert.ok(llm.every((s) => s.attributes['weft.energy.source'] === 'estimated' && s.attributes['weft.device'] === 'cpu'));
    assert.equal(roots.filter((s) => s.attributes['weft.app'] === 'ocr').length, counts.ocr);
  });

  it('shows app requests and the language model in /admin/stats and a real Prometheus', async () => {
    const app = stats.models.find((m: { app: string }) => m.app === 'ocr');
    assert.equal(app.model, '');
    assert.equal(app.requests, counts.ocr + 1); // and the warm-up
    assert.ok(app.joulesPerRequest > 0 && app.p50Ms > 0);
    assert.ok(stats.models.find((m: { model: string; app: string }) => m.model === 'tiny' && m.app === '').joulesPerRequest > 0);
    const ocr = await prometheus.waitFor('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="app",weft_app="ocr"}', (r) => r.length === 1 && r[0]!.value[1] === String(counts.ocr + 1));
    assert.equal(ocr[0]!.metric.gen_ai_request_model, undefined);
    await prometheus.waitFor('weft_requests_inflight{model="tiny"}', (r) => r.length === 1);
    // Prometheus scrapes one consistent set of counters: the parts equal the whole there too.
    const [parts] = await prometheus.waitFor('sum(weft_caller_energy_joules_total) + sum(weft_energy_joules_total{model="_idle"})', (r) => r.length === 1);
    const [node] = await prometheus.query('sum(weft_node_energy_joules_total)');
    within(Number(parts!.value[1]), Number(node!.value[1]), 1e-6, 'Prometheus: callers + idle');
    // weft top: the app's row, MODEL '-' and APP ocr, with its requests' joules.
    const top = await new Promise<string>((resolve, reject) => execFile(process.execPath, [CLI, 'top', '--once', '--url', weft.url], (err, out) => (err ? reject(err) : resolve(out))));
    const row = /^-\s+ocr\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+0\s+0\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+0$/m.exec(top);
    assert.ok(row, top);
    assert.ok(Number(row[1]) > 0 && Number(row[2]) > 0 && Number(row[3]) > 0, row[0]);
  });
});
