// End to end: telemetry of a real `weft serve`. Its /metrics carries the GenAI and weft names and
// a real Prometheus scrapes them; energy from a synthetic RAPL tree shows up as measured joules;
// `weft top --once` prints the admin stats; with OTLP export on, a receiver on loopback gets the
// request spans (protobuf, and JSON) with their parent links, the batch span and our trace id,
// while head sampling drops a plain request and the tail rules keep a failed one.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWeft, fetchJson, type WeftProcess } from './kit/weft-process.js';
import { startPrometheus, type PrometheusProcess } from './kit/prometheus.js';
import { startOtlpReceiver, type OtlpReceiver } from './kit/otlp-receiver.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const CLS_INPUT = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.25) };
const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_C = '0af7651916cd43dd8448eb211c80319c';
const PARENT = '00f067aa0ba902b7';

function infer(url: string, headers: Record<string, string> = {}, input: unknown = CLS_INPUT) {
  return fetch(`${url}/v2/models/ppocr-cls/infer`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ inputs: [input] }),
  });
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** Waits until the node has read its energy meters once, so requests get an energy figure. */
async function waitForPower(url: string): Promise<void> {
  for (let i = 0; i < 200 && !/^weft_node_power_watts\{/m.test(await metricsText(url)); i++) await sleep(50);
}

describe('metrics, Prometheus, energy and weft top', () => {
  let weft: WeftProcess;
  let prometheus: PrometheusProcess;
  let rapl: string;
  let ticker: NodeJS.Timeout;

  before(async () => {
    // A synthetic powercap tree whose package counter the test advances as time passes.
    rapl = await mkdtemp(join(tmpdir(), 'weft-e2e-rapl-'));
    const zone = join(rapl, 'intel-rapl:0');
    await mkdir(zone);
    await writeFile(join(zone, 'name'), 'package-0\n');
    await writeFile(join(zone, 'max_energy_range_uj'), '262143328850\n');
    let uj = 1_000_000;
    await writeFile(join(zone, 'energy_uj'), `${uj}\n`);
    ticker = setInterval(() => {
      uj += 2_000_000;
      void writeFile(join(zone, 'energy_uj'), `${uj}\n`);
    }, 50);
    weft = await startWeft(['--energy', 'rapl', '--rapl-root', rapl, '--energy-interval', '100ms']);
    prometheus = await startPrometheus([new URL(weft.url).host]);
  });
  after(async () => {
    clearInterval(ticker);
    await prometheus?.stop();
    assert.equal(await weft?.stop(), 0);
    await rm(rapl, { recursive: true, force: true });
  });

  it('answers a request with the caller trace id and exposes the GenAI and weft metrics', async () => {
    await waitForPower(weft.url);
    const res = await infer(weft.url, { traceparent: `00-${TRACE_A}-${PARENT}-01`, 'x-weft-tenant': 'acme' });
    assert.equal(res.status, 200, await res.clone().text());
    // Tracing is off: the trace id still comes back, with a span id of this hop.
    const tp = res.headers.get('traceparent')!;
    assert.match(tp, new RegExp(`^00-${TRACE_A}-[0-9a-f]{16}-01$`));
    assert.notEqual(tp.split('-')[2], PARENT);
    const bad = await infer(weft.url, {}, { ...CLS_INPUT, datatype: 'INT8' });
    assert.equal(bad.status, 400);

    const text = await metricsText(weft.url);
    for (const name of [
      'gen_ai_server_request_duration_seconds',
      'gen_ai_server_time_to_first_token_seconds',
      'gen_ai_server_time_per_output_token_seconds',
      'gen_ai_client_token_usage',
      'weft_queue_time_seconds',
      'weft_batch_size',
      'weft_requests_inflight',
      'weft_requests_queued',
      'weft_model_load_duration_seconds',
      'weft_model_evictions_total',
      'weft_model_memory_bytes',
      'weft_errors_total',
      'weft_energy_joules_total',
      'weft_node_power_watts',
      'weft_caller_requests_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_external_memory_bytes',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="infer",gen_ai_request_model="ppocr-cls"\} 1$/m);
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="infer",gen_ai_request_model="ppocr-cls",error_type="[A-Z_]+"\} 1$/m);
    assert.match(text, /^weft_batch_size_count\{model="ppocr-cls"\} 1$/m);
    assert.match(text, /^weft_model_memory_bytes\{model="ppocr-cls",device="cpu"\} [1-9]/m);
    assert.match(text, /^weft_node_power_watts\{device="cpu",source="measured"\} /m);
    // The tenant is only ever stored hashed.
    assert.doesNotMatch(text, /acme/);
  });

  it('is scraped by a real Prometheus, energy included', async () => {
    const duration = await prometheus.waitFor('gen_ai_server_request_duration_seconds_count{gen_ai_request_model="ppocr-cls",error_type=""}', (r) => r.length === 1);
    assert.equal(duration[0]!.value[1], '1');
    assert.equal(duration[0]!.metric.gen_ai_operation_name, 'infer');
    const errors = await prometheus.waitFor('weft_errors_total', (r) => r.length > 0);
    assert.equal(errors[0]!.value[1], '1');
    // The synthetic package draws 40 W (2 J every 50 ms): joules reach Prometheus as measured.
    const joules = await prometheus.waitFor('sum(weft_energy_joules_total{source="measured",device="cpu"})', (r) => r.length === 1 && Number(r[0]!.value[1]) > 0);
    assert.ok(Number(joules[0]!.value[1]) > 0);
  });

  it('reports per-model stats on /admin/stats and through weft top --once', async () => {
    const { status, body } = await fetchJson(`${weft.url}/admin/stats`);
    assert.equal(status, 200);
    const cls = body.models.find((m: any) => m.model === 'ppocr-cls');
    assert.equal(cls.requests, 2);
    assert.equal(cls.errors, 1);
    assert.ok(cls.p99Ms >= cls.p50Ms && cls.p50Ms > 0);
    assert.equal(cls.meanBatchSize, 1);
    assert.ok(cls.joulesPerRequest >= 0);
    assert.equal(body.power[0].source, 'measured');
    assert.ok(body.callers.length >= 1 && body.callers.every((c: any) => /^([0-9a-f]{12}|anonymous|other)$/.test(c.caller)));

    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [CLI, 'top', '--once', '--url', weft.url], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^weft top — .* power: cpu [\d.]+ W \(measured\) — tracing off$/);
    assert.match(lines[1]!, /^MODEL\s+APP\s+REQ\/S\s+P50 ms\s+P99 ms\s+QUEUE\s+INFL\s+BATCH\s+WATTS\s+J\/REQ\s+ERR$/);
    assert.match(out, /^ppocr-cls\s+-\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\s+0\s+1\.0\s+[\d.]+\s+[\d.]+\s+1$/m);
    assert.match(out, /^ppocr-det\s+-\s+0\.00/m);
  });
});

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`OTLP trace export (${protocol})`, () => {
    let receiver: OtlpReceiver;
    let weft: WeftProcess;
    let metrics = '';
    let codes: number[] = [];
    let responseTraceparents: Array<string | null> = [];

    before(async () => {
      receiver = await startOtlpReceiver();
      weft = await startWeft(['--energy-interval', '50ms'], {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'weft-e2e',
        // Head sampling keeps nothing of its own, so only a sampled parent or a tail rule keeps a trace.
        OTEL_TRACES_SAMPLER_ARG: '0',
        WEFT_TRACE_SLOW_THRESHOLD: '1h',
      });
      await waitForPower(weft.url);
      const a = await infer(weft.url, { traceparent: `00-${TRACE_A}-${PARENT}-01` });
      const b = await infer(weft.url);
      const c = await infer(weft.url, { traceparent: `00-${TRACE_C}-${PARENT}-00` }, { ...CLS_INPUT, shape: [1, 3, 48] });
      codes = [a.status, b.status, c.status];
      responseTraceparents = [a.headers.get('traceparent'), b.headers.get('traceparent'), c.headers.get('traceparent')];
      // A request's span ends once the energy intervals covering its work have closed (one
      // --energy-interval after the response at most), and the tail sampler decides then.
      for (let tries = 0; tries < 100; tries++) {
        metrics = await metricsText(weft.url);
        const decided = [...metrics.matchAll(/^weft_traces_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
        if (decided >= 3) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Stopping the node flushes what the tail sampler kept.
      assert.equal(await weft.stop(), 0);
    });
    after(async () => {
      await weft?.stop();
      await receiver?.close();
    });

    it('answers with traceparents of the request spans', () => {
      assert.deepEqual(codes, [200, 200, 400]);
      assert.match(responseTraceparents[0]!, new RegExp(`^00-${TRACE_A}-[0-9a-f]{16}-01$`));
      assert.match(responseTraceparents[1]!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      assert.match(responseTraceparents[2]!, new RegExp(`^00-${TRACE_C}-[0-9a-f]{16}-00$`));
    });

    it('exports the sampled request with its parent links, GenAI attributes and the batch span', () => {
      assert.ok(receiver.contentTypes.length > 0);
      assert.ok(receiver.contentTypes.every((t) => t.startsWith(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf')), receiver.contentTypes.join());
      const spans = receiver.spans;
      const root = spans.find((s) => s.traceId === TRACE_A && s.parentSpanId === PARENT)!;
      assert.ok(root, `no span of trace ${TRACE_A} under ${PARENT}: ${JSON.stringify(spans.map((s) => [s.name, s.traceId]))}`);
      assert.equal(root.name, 'infer ppocr-cls');
      assert.equal(root.kind, 2); // SERVER
      assert.equal(responseTraceparents[0], `00-${TRACE_A}-${root.spanId}-01`);
      assert.equal(root.resource['service.name'], 'weft-e2e');
      assert.equal(root.attributes['gen_ai.operation.name'], 'infer');
      assert.equal(root.attributes['gen_ai.request.model'], 'ppocr-cls');
      assert.equal(root.attributes['gen_ai.response.model'], 'ppocr-cls');
      assert.equal(root.attributes['http.response.status_code'], 200);
      assert.equal(root.attributes['weft.device'], 'cpu');
      assert.equal(root.attributes['weft.energy.source'], 'estimated');
      assert.equal(typeof root.attributes['weft.energy.joules'], 'number');

      const call = spans.find((s) => s.traceId === TRACE_A && s.name === 'inference.run')!;
      assert.equal(call.parentSpanId, root.spanId);
      assert.equal(call.attributes['weft.batch.size'], 1);
      assert.equal(typeof call.attributes['weft.queue.ms'], 'number');
      const queue = spans.find((s) => s.traceId === TRACE_A && s.name === 'weft.queue')!;
      assert.equal(queue.parentSpanId, call.spanId);

      assert.equal(call.links.length, 1);
      const batch = spans.find((s) => s.spanId === call.links[0]!.spanId)!;
      assert.ok(batch, 'the batch span the model call links to was exported');
      assert.equal(batch.name, 'weft.batch ppocr-cls');
      assert.equal(batch.attributes['weft.batch.requests'], 1);
      assert.deepEqual(batch.links, [{ traceId: TRACE_A, spanId: root.spanId }]);
    });

    it('keeps the failed request by the tail rule and drops the unsampled one', () => {
      const roots = receiver.spans.filter((s) => s.kind === 2);
      assert.deepEqual(roots.map((s) => s.traceId).sort(), [TRACE_C, TRACE_A].sort());
      const failed = roots.find((s) => s.traceId === TRACE_C)!;
      assert.match(String(failed.attributes['error.type']), /^[A-Z_]+$/);
      assert.equal(failed.attributes['http.response.status_code'], 400);
      assert.match(metrics, /^weft_traces_total\{decision="kept",reason="head"\} 1$/m);
      assert.match(metrics, /^weft_traces_total\{decision="kept",reason="error"\} 1$/m);
      assert.match(metrics, /^weft_traces_total\{decision="dropped",reason="sampled_out"\} 1$/m);
      assert.match(metrics, /^weft_traces_kept_ratio 0\.666/m);
    });
  });
}
