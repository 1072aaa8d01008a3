// The Telemetry object with tracing off (the default): no spans are made, the caller's trace id
// still comes back, and requests, batches, errors and model events land in the metrics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/index.js';
import { WeftError } from '../errors.js';
import { createLogger } from './log.js';
import { Telemetry } from './telemetry.js';

const silent = createLogger('error', () => undefined);

function create(flags: Record<string, string> = {}) {
  return Telemetry.create(loadConfig({ flags: { energy: 'off', ...flags } }), { version: 'test', log: silent });
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

  it('refuses a sampler ratio above 1', async () => {
    await assert.rejects(create({ 'traces-sampler-arg': '1.5' }), (err: unknown) => err instanceof WeftError && err.field === 'tracesSamplerArg');
  });
});
