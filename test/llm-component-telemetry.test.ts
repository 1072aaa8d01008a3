// End to end: a component's language-model call reports where a route's does — its tokens and
// GenAI timings in the gen_ai_* metrics, labelled with the model, and an inference.run span in
// the app request's trace — because the engine reports every call, whoever makes it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { startNode, type WeftNode } from '../src/node.js';
import { createLogger } from '../src/telemetry/index.js';
import { testComponent, writeApp } from './kit/components.js';
import { startOtlpReceiver, type OtlpReceiver } from './kit/otlp-receiver.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe("a component's language-model call in telemetry", () => {
  let dir: string;
  let node: WeftNode | undefined;
  let receiver: OtlpReceiver;
  let status = 0;
  let metrics = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-llm-telemetry-'));
    receiver = await startOtlpReceiver();
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    const app = writeApp(join(dir, 'llm'), await testComponent('llm'), {
      name: 'llm',
      version: '1.0.0',
      component: { grants: { models: ['llm'], config: {} }, limits: { memory: '16MiB', deadline: '60s' } },
    });
    const flags = { port: '0', model: [`llm=${gguf}`], 'llm-threads': '1', 'llm-parallel': '1', app: [app], 'data-dir': join(dir, 'data'), 'log-level': 'error', 'allow-unsigned': 'true' };
    const env = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    node = await startNode(loadConfig({ flags, env }), createLogger('error', () => {}));
    const url = `http://127.0.0.1:${node.address.port}`;
    const res = await fetch(`${url}/apps/llm/stream?max=6`, { method: 'POST', headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
    status = res.status;
    await res.text();
    metrics = await (await fetch(`${url}/metrics`)).text();
    // Stopping the node flushes the kept trace.
    await node.stop();
    node = undefined;
  });
  after(async () => {
    await node?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts its time to first token and tokens under the model it called', () => {
    assert.equal(status, 200);
    assert.match(metrics, /gen_ai_server_time_to_first_token_seconds_count\{[^}]*gen_ai_request_model="llm"[^}]*\} 1$/m);
    assert.match(metrics, /gen_ai_server_time_per_output_token_seconds_count\{[^}]*gen_ai_request_model="llm"[^}]*\} 1$/m);
  });

  it('appears as an inference.run span under the app request', () => {
    const root = receiver.spans.find((s) => s.traceId === TRACE && s.parentSpanId === PARENT);
    assert.ok(root, `no request span: ${JSON.stringify(receiver.spans.map((s) => s.name))}`);
    const call = receiver.spans.find((s) => s.traceId === TRACE && s.name === 'inference.run');
    assert.ok(call, `no inference.run span: ${JSON.stringify(receiver.spans.map((s) => s.name))}`);
    assert.equal(call.attributes['gen_ai.request.model'], 'llm');
    assert.equal(call.attributes['gen_ai.operation.name'], 'text_completion');
    assert.ok(Number(call.attributes['gen_ai.usage.output_tokens']) > 0);
    // Under the request span, directly or through the sandbox.invoke span.
    const ancestors = new Set<string>();
    for (let s: typeof call | undefined = call; s; s = receiver.spans.find((p) => p.spanId === s!.parentSpanId)) ancestors.add(s.spanId);
    assert.ok(ancestors.has(root.spanId));
  });
});
