// End to end: the energy invariant on a real `weft serve` under a mixed load — OCR app requests,
// KServe requests and LLM chat completions on the tiny GGUF, from three tenants at once — with a
// synthetic RAPL meter. Over the load's window, the joules per caller plus idle, and the joules
// on the request spans (OTLP) plus idle, equal what the meter counted; a real Prometheus sees the
// same sum, app requests by app, and the language model in the queue gauges.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { startPrometheus, type PrometheusProcess } from './kit/prometheus.js';
import { startOtlpReceiver, type OtlpReceiver } from './kit/otlp-receiver.js';
import { openAiClient } from './kit/llm.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { writeTestModels } from './kit/models.js';
import { renderText } from './kit/render.js';

const OCR_APP = fileURLToPath(new URL('../examples/ocr/', import.meta.url));

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
  let ticker: NodeJS.Timeout;
  let before_: Energy;
  let after_: Energy;
  let afterText = '';
  let stats: any;
  const tenants = { ocr: 'tenant-ocr', kserve: 'tenant-kserve', llm: 'tenant-llm' };
  const counts = { ocr: 3, kserve: 6, llm: 3 };

  const metrics = async () => (await fetch(`${weft.url}/metrics`)).text();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-e2e-energy-'));
    // A synthetic package counter drawing 40 W (2 J every 50 ms).
    const zone = join(dir, 'rapl', 'intel-rapl:0');
    await mkdir(zone, { recursive: true });
    await writeFile(join(zone, 'name'), 'package-0\n');
    await writeFile(join(zone, 'max_energy_range_uj'), '262143328850\n');
    let uj = 1_000_000;
    await writeFile(join(zone, 'energy_uj'), `${uj}\n`);
    ticker = setInterval(() => {
      uj += 2_000_000;
      void writeFile(join(zone, 'energy_uj'), `${uj}\n`);
    }, 50);
    const models = await writeTestModels(join(dir, 'models'));
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    receiver = await startOtlpReceiver();
    weft = await startWeft(
      [
        ...['--models', models.root, '--model', `tiny=${gguf}`, '--llm-threads', '1', '--app', OCR_APP, '--allow-unsigned'],
        ...['--energy', 'rapl', '--rapl-root', join(dir, 'rapl'), '--energy-interval', '100ms', '--caller-names', Object.values(tenants).join(',')],
      ],
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_on', WEFT_DATA_DIR: join(dir, 'data') },
    );
    prometheus = await startPrometheus([new URL(weft.url).host]);
    for (let i = 0; i < 200 && total(await metrics(), 'weft_node_energy_joules_total') === 0; i++) await sleep(50);
    before_ = energy(await metrics());

    const image = (await renderText(['Energy adds up', 'per request'], 480, 50, 30)).png;
    const client = openAiClient(weft.url);
    const load = [
      ...Array.from({ length: counts.ocr }, async () => {
        const res = await fetch(`${weft.url}/apps/ocr`, { method: 'POST', headers: { 'x-weft-tenant': tenants.ocr }, body: new Uint8Array(image) });
        assert.equal(res.status, 200, await res.text());
      }),
      ...Array.from({ length: counts.kserve }, async (_, i) => {
        const res = await fetch(`${weft.url}/v2/models/affine/infer`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'x-weft-tenant': tenants.kserve },
          body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [i, 1, 2, 3] }] }),
        });
        assert.equal(res.status, 200, await res.text());
      }),
      ...Array.from({ length: counts.llm }, async () => {
        const r = await client.chat.completions.create(
          { model: 'tiny', messages: [{ role: 'user', content: 'Count the joules.' }], max_tokens: 24 },
          { headers: { 'x-weft-tenant': tenants.llm } },
        );
        assert.ok(r.usage!.completion_tokens > 0);
      }),
    ];
    await Promise.all(load);
    // Every request span ends once its joules have settled; then only idle joules accrue.
    const requests = counts.ocr + counts.kserve + counts.llm;
    for (let i = 0; i < 300 && receiver.spans.filter((s) => s.kind === 2).length < requests; i++) await sleep(100);
    afterText = await metrics();
    after_ = energy(afterText);
    stats = (await fetchJson(`${weft.url}/admin/stats`)).body;
  });
  after(async () => {
    clearInterval(ticker);
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
      // No request can draw more than the meter's 40 W over the whole window.
      assert.ok(joules < node, `${tenant}: ${joules} J of ${node} J`);
      assert.equal(stats.callers.find((c: { caller: string }) => c.caller === id)?.name, tenant);
    }
    // The tenants' names are only ever in the admin API, never on /metrics.
    for (const tenant of Object.values(tenants)) assert.ok(!afterText.includes(tenant));
  });

  it('per request (the spans) plus idle sums to the node total over the window', () => {
    const roots = receiver.spans.filter((s) => s.kind === 2);
    assert.equal(roots.length, counts.ocr + counts.kserve + counts.llm, JSON.stringify(roots.map((s) => s.name)));
    const joules = roots.map((s) => s.attributes['weft.energy.joules']);
    assert.ok(joules.every((j) => typeof j === 'number' && j > 0), JSON.stringify(roots.map((s) => [s.name, s.attributes['weft.energy.joules']])));
    const internal = (after_.byCaller.get('_internal') ?? 0) - (before_.byCaller.get('_internal') ?? 0);
    const requests = (joules as number[]).reduce((n, j) => n + j, 0);
    within(requests + internal + (after_.idle - before_.idle), after_.node - before_.node, 0.01, 'requests + idle');
    const llm = roots.filter((s) => s.name === 'chat tiny');
    assert.equal(llm.length, counts.llm);
    assert.ok(llm.every((s) => s.attributes['weft.energy.source'] === 'measured' && s.attributes['weft.device'] === 'cpu'));
    assert.equal(roots.filter((s) => s.attributes['weft.app'] === 'ocr').length, counts.ocr);
  });

  it('shows app requests and the language model in /admin/stats and a real Prometheus', async () => {
    const app = stats.models.find((m: { app: string }) => m.app === 'ocr');
    assert.equal(app.model, '');
    assert.equal(app.requests, counts.ocr);
    assert.ok(app.joulesPerRequest > 0 && app.p50Ms > 0);
    assert.ok(stats.models.find((m: { model: string; app: string }) => m.model === 'tiny' && m.app === '').joulesPerRequest > 0);
    const ocr = await prometheus.waitFor('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="app",weft_app="ocr"}', (r) => r.length === 1 && r[0]!.value[1] === String(counts.ocr));
    assert.equal(ocr[0]!.metric.gen_ai_request_model, undefined);
    await prometheus.waitFor('weft_requests_inflight{model="tiny"}', (r) => r.length === 1);
    // Prometheus scrapes one consistent set of counters: the parts equal the whole there too.
    const [parts] = await prometheus.waitFor('sum(weft_caller_energy_joules_total) + sum(weft_energy_joules_total{model="_idle"})', (r) => r.length === 1);
    const [node] = await prometheus.query('sum(weft_node_energy_joules_total)');
    within(Number(parts!.value[1]), Number(node!.value[1]), 1e-6, 'Prometheus: callers + idle');
  });
});
