// The dashboard snapshot from a real Telemetry and model manager: the stats are /admin/stats'
// own, and the figures read from the metrics registry equal what /metrics prints.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/index.js';
import { testEngine } from '../../test/kit/engine.js';
import { createLogger, Telemetry } from '../telemetry/index.js';
import { DashboardFeed } from './feed.js';

const log = createLogger('error', () => undefined);

function metric(text: string, name: string, labels: string[]): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
  assert.ok(line, `${name} ${labels.join()} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('dashboard feed', () => {
  it('takes its figures from the admin stats and the metrics registry', async () => {
    const telemetry = await Telemetry.create(loadConfig({ flags: { energy: 'off' } }), { version: 'test', log });
    const engine = testEngine(log, { cudaBudget: 2 ** 20 });
    // The engine's own states and budget, and a language model's entry (no GGUF needed to read its figures from /metrics).
    const tinyModel = { name: 'tiny', version: 1, kind: 'local' as const, state: 'ready' as const, reason: undefined, inflight: 0, queued: 0, device: 'cpu' as const };
    // As node.ts wires it: telemetry names a failed request's model only if the engine holds it.
    telemetry.watchLanguageModels(() => [{ name: 'tiny', waiting: 0, running: 0 }]);
    const feed = new DashboardFeed({ telemetry, engine: { status: () => engine.status(), memory: () => engine.memory(), languageModels: () => [tinyModel] }, version: 'test' });
    for (const [tokens, error] of [[5, undefined], [9, undefined], [0, { code: 'CONTEXT_LENGTH_EXCEEDED' }]] as const) {
      const scope = telemetry.startRequest({ method: 'POST', path: '/v1/chat/completions', traceparent: undefined, tenant: undefined, authorization: undefined });
      scope.setOperation('chat', 'tiny');
      if (tokens > 0) scope.firstToken();
      scope.recordTokens(3, tokens);
      scope.end(error ? 400 : 200, error);
    }
    const snapshot = await feed.snapshot();
    const text = await telemetry.metrics.text();
    assert.deepEqual(snapshot.stats, telemetry.stats());
    assert.deepEqual(snapshot.memory, [{ device: 'cpu', usedBytes: 0, budgetBytes: 2 ** 30 }, { device: 'cuda', usedBytes: 0, budgetBytes: 2 ** 20 }]);
    assert.deepEqual(snapshot.models.map((m) => [m.name, m.kind, m.state]), [['tiny', 'llm', 'ready']]);
    assert.deepEqual(snapshot.metrics.errors, [{ model: 'tiny', code: 'CONTEXT_LENGTH_EXCEEDED', count: 1 }]);
    const [tiny] = snapshot.metrics.llm;
    const ttft = 'gen_ai_server_time_to_first_token_seconds';
    assert.equal(tiny!.ttftCount, metric(text, `${ttft}_count`, ['gen_ai_request_model="tiny"']));
    assert.equal(tiny!.ttftCount, 2);
    assert.equal(tiny!.ttftMeanMs, (metric(text, `${ttft}_sum`, ['gen_ai_request_model="tiny"']) * 1000) / 2);
    assert.equal(tiny!.tpotCount, metric(text, 'gen_ai_server_time_per_output_token_seconds_count', ['gen_ai_request_model="tiny"']));
    assert.equal(tiny!.outputTokens, 14);
    assert.equal(tiny!.outputTokens, metric(text, 'gen_ai_client_token_usage_sum', ['gen_ai_request_model="tiny"', 'gen_ai_token_type="output"']));
    assert.equal(tiny!.inputTokens, 9);
    // Tokens/s comes from successive reads of that counter: none were added since the first read.
    assert.equal((await feed.snapshot()).metrics.llm[0]!.outputTokensPerSecond, 0);
    assert.deepEqual(snapshot.traces, { enabled: false, recent: [] });
    assert.equal(snapshot.fleet, null);
    await telemetry.shutdown();
  });
});
