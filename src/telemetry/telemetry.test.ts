// The Telemetry object with tracing off (the default): no spans are made, the caller's trace id
// still comes back, and requests, batches, errors and model events land in the metrics; app
// requests count by app; batches and generations share out the estimator's joules exactly.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { createLogger } from './log.js';
import { Telemetry } from './telemetry.js';

const silent = createLogger('error', () => undefined);
const dataDir = mkdtempSync(join(tmpdir(), 'weft-telemetry-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function create(flags: Record<string, string> = {}) {
  return Telemetry.create(loadConfig({ flags: { energy: 'off', 'data-dir': dataDir, ...flags } }), { version: 'test', log: silent });
}

/** Sum of a metric's samples in Prometheus text, optionally only those matching `labels`. */
function total(text: string, name: string, labels = ''): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (m[1]!.includes(labels)) n += Number(m[2]);
  return n;
}

/** Keeps this thread busy, so the CPU estimator sees work. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('Telemetry with tracing off', () => {
  it('makes no spans and answers with the caller trace id', async () => {
    const t = await create();
    assert.equal(t.tracer, undefined);
    const scope = t.startRequest({ method: 'POST', path: '/v2/models/m/infer', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tenant: undefined, authorization: undefined });
    assert.equal(scope.spanContext(), undefined);
    assert.equal(scope.otelContext(), undefined);
    assert.match(scope.traceparent!, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.equal(t.startRequest({ method: 'GET', path: '/v2', traceparent: undefined, tenant: undefined, authorization: undefined }).traceparent, undefined);
    await t.shutdown();
  });

  it('records requests, batches, tokens, errors and model events in the metrics', async () => {
    const t = await create();
    t.watchModels(() => [{ name: 'llm', device: 'cpu', inflight: 0, queued: 0 }]);
    const scope = t.startRequest({ method: 'POST', path: '/x', traceparent: undefined, tenant: 'acme', authorization: undefined });
    scope.setOperation('chat', 'llm');
    scope.modelCallStarted();
    const end = t.batchStarted('llm', 'cpu', [{ scope, rows: 3 }, { rows: 1 }], 4);
    end();
    scope.modelCallDone('llm', { batchSize: 4, batchRequests: 2, queueMs: 2, computeMs: 5 });
    scope.firstToken();
    scope.recordTokens(12, 30);
    scope.end(200);
    const failed = t.startRequest({ method: 'POST', path: '/x', traceparent: undefined, tenant: undefined, authorization: undefined });
    failed.setOperation('chat', 'llm');
    failed.end(429, new WeftError('QUEUE_FULL', 'full'));
    t.modelLoaded('llm', 'cpu', 1500);
    t.modelUnloaded('llm', 'memory budget');
    t.componentStarted('ocr');

    const text = await t.metrics.text();
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="llm"\} 1$/m);
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="llm",error_type="QUEUE_FULL"\} 1$/m);
    assert.match(text, /^gen_ai_client_token_usage_sum\{gen_ai_operation_name="chat",gen_ai_request_model="llm",gen_ai_token_type="output"\} 30$/m);
    assert.match(text, /^gen_ai_server_time_to_first_token_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="llm"\} 1$/m);
    assert.match(text, /^gen_ai_server_time_per_output_token_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="llm"\} 1$/m);
    assert.match(text, /^weft_batch_size_sum\{model="llm"\} 4$/m);
    assert.match(text, /^weft_queue_time_seconds_sum\{model="llm"\} 0\.002$/m);
    assert.match(text, /^weft_errors_total\{code="QUEUE_FULL"\} 1$/m);
    assert.match(text, /^weft_model_load_duration_seconds_sum\{model="llm",device="cpu"\} 1\.5$/m);
    assert.match(text, /^weft_model_evictions_total\{model="llm",reason="memory_budget"\} 1$/m);
    assert.match(text, /^weft_component_instance_starts_total\{app="ocr"\} 1$/m);
    assert.match(text, /^weft_caller_tokens_total\{caller="[0-9a-f]{12}",gen_ai_token_type="input"\} 12$/m);
    assert.match(text, /^weft_caller_requests_total\{caller="anonymous"\} 1$/m);
    const stats = t.stats();
    assert.equal(stats.tracing.enabled, false);
    assert.equal(stats.callers.length, 2);
    await t.shutdown();
  });

  it('ends a streaming request when its stream ends, not when the handler returns', async () => {
    const t = await create();
    const scope = t.startRequest({ method: 'POST', path: '/v1/chat/completions', traceparent: undefined, tenant: undefined, authorization: undefined });
    scope.setOperation('chat', 'llm');
    const done = scope.deferEnd();
    scope.end(200); // what the middleware does once the handler returned the streaming Response
    assert.doesNotMatch(await t.metrics.text(), /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat"/m);
    scope.recordTokens(3, 5);
    done();
    assert.match(await t.metrics.text(), /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="llm"\} 1$/m);
    await t.shutdown();
  });

  it('counts requests for models and apps the node does not serve under one label, not one series per name', async () => {
    const t = await create();
    for (let i = 0; i < 50; i++) {
      const model = t.startRequest({ method: 'POST', path: `/v2/models/rnd-${i}/infer`, traceparent: undefined, tenant: undefined, authorization: undefined });
      model.setOperation('infer', `rnd-${i}`);
      model.end(404, new WeftError(ErrorCode.ModelNotFound, 'not served here'));
      const app = t.startRequest({ method: 'POST', path: `/apps/fake-${i}/x`, traceparent: undefined, tenant: undefined, authorization: undefined });
      app.setApp(`fake-${i}`);
      app.end(404, new WeftError(ErrorCode.AppNotFound, 'no such app'));
    }
    // Failures before the name was looked up: a body refused first, an OpenAI route's own 404.
    t.watchModels(() => [{ name: 'served', device: 'cpu', inflight: 0, queued: 0 }]);
    for (const [name, status, error] of [
      ['rnd-json', 400, new WeftError(ErrorCode.InvalidJson, 'not JSON')],
      ['rnd-chat', 404, undefined],
      ['served', 400, new WeftError(ErrorCode.InvalidJson, 'not JSON')],
    ] as const) {
      const scope = t.startRequest({ method: 'POST', path: '/v1/chat/completions', traceparent: undefined, tenant: undefined, authorization: undefined });
      scope.setOperation('chat', name);
      scope.end(status, error);
    }
    const text = await t.metrics.text();
    assert.doesNotMatch(text, /rnd-|fake-/);
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="infer",gen_ai_request_model="_unknown",error_type="MODEL_NOT_FOUND"\} 50$/m);
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="_unknown",error_type="HTTP_404"\} 1$/m);
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="served",error_type="INVALID_JSON"\} 1$/m, 'a model the node serves keeps its name');
    assert.ok(t.stats().models.every((m) => !/rnd-|fake-/.test(m.model)), '/admin/stats neither');
    await t.shutdown();
  });

  it('counts app requests by app, and language models in the queue gauges', async () => {
    const t = await create({ 'caller-names': 'acme' });
    t.watchModels(() => [
      { name: 'ppocr-rec', device: 'cpu', memoryBytes: 10, inflight: 1, queued: 0 },
      { name: 'tiny', device: 'cpu', inflight: 2, queued: 3 },
    ]);
    const scope = t.startRequest({ method: 'POST', path: '/apps/ocr', traceparent: undefined, tenant: 'acme', authorization: undefined });
    scope.setApp('ocr');
    t.batchStarted('ppocr-rec', 'cpu', [{ scope, rows: 2 }], 2)();
    scope.end(200);
    const text = await t.metrics.text();
    assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="app",weft_app="ocr"\} 1$/m);
    assert.match(text, /^weft_requests_inflight\{model="tiny"\} 2$/m);
    assert.match(text, /^weft_requests_queued\{model="tiny"\} 3$/m);
    assert.doesNotMatch(text, /^weft_model_memory_bytes\{model="tiny"/m);
    const stats = t.stats();
    const app = stats.models.find((m) => m.app === 'ocr')!;
    assert.equal(app.model, '');
    assert.equal(app.requests, 1);
    assert.equal(stats.models.find((m) => m.model === 'ppocr-rec')!.inflight, 1);
    assert.equal(stats.models.find((m) => m.model === 'tiny')!.queued, 3);
    assert.deepEqual(stats.callerNames, [{ tenant: 'acme', caller: scope.caller }]);
    assert.equal(stats.callers.find((c) => c.caller === scope.caller)!.name, 'acme');
    await t.shutdown();
  });

  it('exports the model-server protocol gauges per language model, and vLLM\'s names only with --metrics-compat vllm', async () => {
    const load = [
      { name: 'chat', waiting: 2, running: 3, kvCacheUsage: 0.25 },
      { name: 'remote', waiting: 0, running: 1, kvCacheUsage: undefined },
    ];
    const plain = await create();
    plain.watchLanguageModels(() => load);
    let text = await plain.metrics.text();
    assert.match(text, /^# TYPE weft_llm_requests_waiting gauge$/m);
    assert.match(text, /^weft_llm_requests_waiting\{model="chat"\} 2$/m);
    assert.match(text, /^weft_llm_requests_running\{model="chat"\} 3$/m);
    assert.match(text, /^weft_llm_requests_running\{model="remote"\} 1$/m);
    assert.match(text, /^weft_llm_kv_cache_usage_ratio\{model="chat"\} 0.25$/m);
    // An upstream's KV cache is not this node's to report.
    assert.doesNotMatch(text, /^weft_llm_kv_cache_usage_ratio\{model="remote"\}/m);
    assert.doesNotMatch(text, /vllm:/);
    await plain.shutdown();

    const compat = await create({ 'metrics-compat': 'vllm' });
    compat.watchLanguageModels(() => load);
    text = await compat.metrics.text();
    assert.match(text, /^weft_llm_requests_waiting\{model="chat"\} 2$/m);
    assert.match(text, /^# TYPE vllm:num_requests_waiting gauge$/m);
    assert.match(text, /^vllm:num_requests_waiting\{model_name="chat"\} 2$/m);
    assert.match(text, /^vllm:num_requests_running\{model_name="chat"\} 3$/m);
    assert.match(text, /^vllm:kv_cache_usage_perc\{model_name="chat"\} 0.25$/m);
    // A model removed at run time loses its series.
    load.splice(0, 1);
    assert.doesNotMatch(await compat.metrics.text(), /model_name="chat"/);
    await compat.shutdown();
    assert.throws(() => loadConfig({ flags: { 'metrics-compat': 'sglang' } }), /--metrics-compat.*'sglang' is not one of none, vllm/);
  });

  it('shares the joules of batches and concurrent generations exactly, and idle is the rest', async () => {
    const t = await create({ energy: 'estimate', 'energy-interval': '20ms', 'idle-watts': '5' });
    const a = t.startRequest({ method: 'POST', path: '/apps/ocr', traceparent: undefined, tenant: 'a', authorization: undefined });
    a.setApp('ocr');
    const b = t.startRequest({ method: 'POST', path: '/v1/chat/completions', traceparent: undefined, tenant: 'b', authorization: undefined });
    b.setOperation('chat', 'tiny');
    const batch = t.batchStarted('ppocr-rec', 'cpu', [{ scope: a, rows: 3 }, { scope: b, rows: 1 }], 4);
    spin(60);
    batch();
    const genA = t.generationStarted('tiny', 'cpu', a);
    const genB = t.generationStarted('tiny', 'cpu', b);
    spin(60);
    genA();
    genB();
    // An upstream generation uses no device of this node: it is not charged.
    t.generationStarted('remote', undefined, b)();
    await sleep(100);
    a.end(200);
    b.end(200);
    await t.shutdown();
    const text = await t.metrics.text();
    const node = total(text, 'weft_node_energy_joules_total');
    const idle = total(text, 'weft_energy_joules_total', 'model="_idle"');
    const callers = total(text, 'weft_caller_energy_joules_total');
    assert.ok(node > 0 && callers > 0 && idle > 0, `node ${node}, callers ${callers}, idle ${idle}`);
    assert.ok(Math.abs(callers + idle - node) <= 1e-9 * node, `callers ${callers} + idle ${idle} ≠ node ${node}`);
    assert.ok(Math.abs(total(text, 'weft_energy_joules_total') - node) <= 1e-9 * node);
    const [ja, jb] = [a.caller, b.caller].map((c) => total(text, 'weft_caller_energy_joules_total', `caller="${c}"`));
    // a had 3 of 4 rows of the batch, and half of the generation time, like b.
    assert.ok(ja! > jb! && jb! > 0, `a ${ja} J, b ${jb} J`);
    assert.equal(total(text, 'weft_energy_joules_total', 'model="remote"'), 0);
    assert.ok(total(text, 'weft_energy_joules_total', 'model="tiny"') > 0, 'generations are charged');
    assert.ok(total(text, 'weft_energy_joules_total', 'model="ppocr-rec",app="ocr"') > 0);
    const stats = t.stats();
    const row = stats.models.find((m) => m.app === 'ocr')!;
    assert.ok(Math.abs(row.joulesPerRequest - ja!) <= 1e-9 * ja!, 'the app row carries its settled joules');
  });

  it('refuses a sampler ratio above 1', async () => {
    await assert.rejects(create({ 'traces-sampler-arg': '1.5' }), (err: unknown) => err instanceof WeftError && err.field === 'tracesSamplerArg');
  });
});
