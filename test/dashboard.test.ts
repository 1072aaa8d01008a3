// End to end: the dashboard of a real `weft serve` with tracing on (to an OTLP receiver on
// loopback), driven in Debian's chromium through playwright-core. The page loads without console
// errors, lists the node's models, moves while a bounded load runs, shows the figures
// /admin/stats and /metrics give at the same moment, opens a kept trace as a waterfall, renders
// in dark and light, and says 'single node' in the Fleet view (test/dashboard-fleet.test.ts has
// the Fleet view on a real two-node fleet). Screenshots go to docs/img/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { startOtlpReceiver, type OtlpReceiver } from './kit/otlp-receiver.js';
import { renderText } from './kit/render.js';

const CHROMIUM = '/usr/bin/chromium';
const IMG = fileURLToPath(new URL('../docs/img/', import.meta.url));
/** A laptop screen. */
const VIEWPORT = { width: 1440, height: 900 };
const CLS_INPUT = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.25) };

function infer(url: string, input: unknown = CLS_INPUT): Promise<Response> {
  return fetch(`${url}/v2/models/ppocr-cls/infer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ inputs: [input] }) });
}

/** A bounded load on loopback: `count` requests, `concurrency` at a time, plus some that fail. */
async function load(url: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        // Every tenth request has a wrong shape: an INVALID_SHAPE error by code.
        const res = await infer(url, i % 10 === 9 ? { ...CLS_INPUT, shape: [1, 3, 48, 191] } : CLS_INPUT);
        await res.arrayBuffer();
      }
    }),
  );
}

async function openPage(browser: Browser, url: string, colorScheme: 'light' | 'dark', view = 'node'): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/dashboard#${view}`);
  await page.waitForSelector('#live.on', { timeout: 30_000 });
  return { page, errors };
}

/** The figure a cell carries (data-value), by row and figure name. */
async function figure(page: Page, row: string, name: string): Promise<number | undefined> {
  const value = await page.locator(`${row} [data-figure="${name}"]`).first().getAttribute('data-value', { timeout: 1000 }).catch(() => null);
  return value === null ? undefined : Number(value);
}

/** Waits until the page shows a snapshot taken after `since` (epoch ms). */
async function freshSnapshot(page: Page, since: number): Promise<void> {
  await page.waitForFunction((t) => Number(document.body.dataset.at ?? 0) > t, since, { timeout: 30_000 });
}

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('dashboard', () => {
  let weft: WeftProcess;
  let receiver: OtlpReceiver;
  let browser: Browser;

  before(async () => {
    receiver = await startOtlpReceiver();
    weft = await startWeft(['--energy', 'estimate', '--energy-interval', '200ms'], {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: 'always_on',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    await mkdir(IMG, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    assert.equal(await weft?.stop(), 0);
    await receiver?.close();
  });

  it('loads without console errors and shows the models of the node', async () => {
    const { page, errors } = await openPage(browser, weft.url, 'light');
    const index = await fetchJson(`${weft.url}/v2/repository/index`, { method: 'POST' });
    const names = (index.body as Array<{ name: string }>).map((m) => m.name);
    assert.ok(names.includes('ppocr-cls'), JSON.stringify(index.body));
    const shown = await page.locator('#n-models tr[data-model]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.model));
    assert.deepEqual([...new Set(shown)].sort(), [...new Set(names)].sort());
    assert.match(await page.locator('#n-apps').innerText(), /ocr/);
    await sleep(1500);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('updates while a load runs, and shows what /admin/stats and /metrics say at that moment', async () => {
    const { page, errors } = await openPage(browser, weft.url, 'light');
    const row = 'tr[data-key="ppocr-cls|"]';
    const nodeRow = `#n-keys ${row}`;
    const before = (await figure(page, nodeRow, 'requests')) ?? 0;
    // An app request too, so the app's split has a kept trace.
    const image = await renderText(['Weft dashboard']);
    assert.equal((await fetch(`${weft.url}/apps/ocr`, { method: 'POST', body: new Uint8Array(image.png) })).status, 200);
    const running = load(weft.url, 60, 3);
    // While the load runs the page moves: its request count grows past what it showed before.
    await page.waitForFunction(
      ([sel, n]) => Number(document.querySelector(`${sel} [data-figure="requests"]`)?.getAttribute('data-value') ?? 0) > n,
      [nodeRow, before] as const,
      { timeout: 60_000 },
    );
    await running;
    const done = Date.now();
    await freshSnapshot(page, done);
    // Nothing runs now: the rolling figures hold still for the rest of the window.
    const [stats, metrics] = await Promise.all([fetchJson(`${weft.url}/admin/stats`), fetch(`${weft.url}/metrics`).then((r) => r.text())]);
    await freshSnapshot(page, Date.now());
    const cls = (stats.body.models as Array<Record<string, number | string>>).find((m) => m.model === 'ppocr-cls' && m.app === '')!;
    assert.ok(Number(cls.requests) >= 60, JSON.stringify(cls));
    for (const name of ['rate', 'requests', 'p50Ms', 'p99Ms', 'meanBatchSize', 'errors', 'queued', 'inflight']) {
      assert.equal(await figure(page, nodeRow, name), cls[name], `${name} on the page vs /admin/stats`);
    }
    const shownRate = await page.locator(`${nodeRow} [data-figure="rate"]`).innerText();
    assert.equal(shownRate, Number(cls.rate).toFixed(2));
    // Errors by code, as /metrics counts them: the six requests with a wrong shape.
    const failed = [...metrics.matchAll(/^gen_ai_server_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)]
      .filter((m) => m[1]!.includes('gen_ai_request_model="ppocr-cls"') && m[1]!.includes('error_type='))
      .map((m) => ({ code: /error_type="([^"]+)"/.exec(m[1]!)![1]!, count: Number(m[2]) }));
    assert.equal(failed.reduce((n, f) => n + f.count, 0), 6, JSON.stringify(failed));
    const shownErrors = await page.locator(`${nodeRow} td`).last().innerText();
    for (const f of failed) assert.ok(shownErrors.includes(`${f.code} ${f.count}`), `${shownErrors} vs ${JSON.stringify(failed)}`);
    // Memory as weft_model_memory_bytes says, and energy per request labelled with its source.
    const memory = metricValue(metrics, 'weft_model_memory_bytes', { model: 'ppocr-cls' });
    assert.ok(memory !== undefined && memory > 0);
    assert.equal(await figure(page, '#n-models tr[data-model="ppocr-cls"]', 'memory'), memory);
    await page.locator('.tabs button[data-view="energy"]').click();
    assert.equal(await figure(page, `#e-keys ${row}`, 'joulesPerRequest'), cls.joulesPerRequest);
    assert.match(await page.locator(`#e-keys ${row}`).innerText(), /estimated/);
    await page.screenshot({ path: `${IMG}dashboard-energy.png` });
    await page.locator('.tabs button[data-view="node"]').click();
    // The charts drew the history they were sent.
    assert.ok((await page.locator('#c-rate canvas').count()) > 0);
    await page.screenshot({ path: `${IMG}dashboard-node-light.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('opens a kept trace as a waterfall with the batch it shared', async () => {
    await infer(weft.url);
    const { page, errors } = await openPage(browser, weft.url, 'light', 'traces');
    const listed = await fetchJson(`${weft.url}/admin/traces`);
    assert.equal(listed.body.enabled, true);
    const trace = (listed.body.traces as Array<{ traceId: string; name: string; error: boolean }>).find((t) => t.name === 'infer ppocr-cls' && !t.error);
    assert.ok(trace, JSON.stringify(listed.body.traces.slice(0, 3)));
    await page.locator(`tr[data-trace="${trace.traceId}"]`).click({ timeout: 30_000 });
    await page.waitForSelector('.waterfall .row[data-span="inference.run"]');
    const spans = await page.locator('.waterfall .row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.span));
    const detail = await fetchJson(`${weft.url}/admin/traces/${trace.traceId}`);
    assert.equal(spans.length, detail.body.spans.length + detail.body.batches.length);
    for (const name of ['infer ppocr-cls', 'inference.run', 'weft.queue']) assert.ok(spans.includes(name), spans.join());
    assert.ok(spans.some((s) => s?.startsWith('weft.batch')), `a shared batch row: ${spans.join()}`);
    // A failed request was kept too, for its error.
    assert.ok((listed.body.traces as Array<{ reason: string }>).some((t) => t.reason === 'error'));
    await page.screenshot({ path: `${IMG}dashboard-traces.png`, fullPage: true });
    const missing = await fetchJson(`${weft.url}/admin/traces/0123456789abcdef0123456789abcdef`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'TRACE_NOT_FOUND');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('renders in dark mode as in light', async () => {
    const background = async (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = await openPage(browser, weft.url, 'dark');
    const light = await openPage(browser, weft.url, 'light');
    const luminance = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).reduce((n, c) => n + Number(c), 0) / 3;
    assert.ok(luminance(await background(dark.page)) < 60, await background(dark.page));
    assert.ok(luminance(await background(light.page)) > 200, await background(light.page));
    await dark.page.waitForSelector('#c-rate canvas');
    await dark.page.screenshot({ path: `${IMG}dashboard-node-dark.png`, fullPage: true });
    // The toggle overrides the system's scheme.
    await dark.page.locator('#theme').click();
    assert.equal(await dark.page.locator('#theme').innerText(), 'light');
    assert.ok(luminance(await background(dark.page)) > 200);
    assert.deepEqual([...dark.errors, ...light.errors], []);
    await dark.page.context().close();
    await light.page.context().close();
  });

  it("shows 'single node' in the Fleet view", async () => {
    const { page, errors } = await openPage(browser, weft.url, 'light', 'fleet');
    assert.equal(await page.locator('#single-node .big').innerText(), 'single node');
    const snapshot = await fetchJson(`${weft.url}/admin/dashboard`);
    assert.equal(snapshot.body.fleet, null);
    await page.screenshot({ path: `${IMG}dashboard-single-node.png` });
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});

describe('dashboard with tracing off and an admin token', () => {
  const TOKEN = 'dashboard-test-token';
  let weft: WeftProcess;
  let browser: Browser;
  before(async () => {
    weft = await startWeft(['--energy', 'off', '--admin-token', TOKEN]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    assert.equal(await weft?.stop(), 0);
  });

  it('serves its figures only with the admin token, which the page takes from #token=', async () => {
    assert.equal((await fetch(`${weft.url}/dashboard`)).status, 200, 'the shell holds no figures');
    for (const path of ['/admin/dashboard', '/admin/dashboard/events', '/admin/traces']) {
      const res = await fetchJson(`${weft.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal(res.body.code, 'UNAUTHORIZED');
    }
    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    assert.equal((await fetchJson(`${weft.url}/admin/dashboard`, auth)).status, 200);
    const { page, errors } = await openPage(browser, weft.url, 'light', `token=${TOKEN}`);
    assert.ok(!page.url().includes(TOKEN), 'the token leaves the address bar');
    assert.ok((await page.locator('#n-models tr[data-model]').count()) > 0);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('says tracing is off where the traces would be', async () => {
    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    const listed = await fetchJson(`${weft.url}/admin/traces`, auth);
    assert.deepEqual(listed.body, { enabled: false, capacity: 0, traces: [] });
    assert.equal((await fetchJson(`${weft.url}/admin/traces/0123456789abcdef0123456789abcdef`, auth)).status, 404);
    const { page, errors } = await openPage(browser, weft.url, 'light', `token=${TOKEN}`);
    await page.locator('.tabs button[data-view="traces"]').click();
    assert.match(await page.locator('#t-list').innerText(), /Tracing is off/);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
