// The model-server protocol gauges (Gateway API Inference Extension, docs/deploy.md) read through a
// real Prometheus scraping a real node while the tiny GGUF generates: with two sequences and four
// long streams, two run and two wait; the KV cache in use rises as the running ones generate; once
// the clients go away every gauge is back at zero. With --metrics-compat vllm the same values come
// under vLLM's names, labelled model_name, as endpoint pickers read them by default.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTinyNode, type TinyNode } from './kit/llm.js';
import { startPrometheus, type PrometheusProcess } from './kit/prometheus.js';
import { fetchJson } from './kit/weft-process.js';

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** The one sample of an instant vector (NaN when there is none). */
const value = (v: Vector) => (v.length === 1 ? Number(v[0]!.value[1]) : NaN);
const is = (n: number) => (v: Vector) => value(v) === n;

describe('model-server protocol metrics through Prometheus', () => {
  let node: TinyNode;
  let prometheus: PrometheusProcess;
  const streams: AbortController[] = [];

  before(async () => {
    node = await startTinyNode(['--llm-parallel', '2', '--max-queue-size', '8', '--llm-context-size', '32768', '--metrics-compat', 'vllm']);
    prometheus = await startPrometheus([new URL(node.weft.url).host]);
  });
  after(async () => {
    for (const c of streams) c.abort();
    await prometheus?.stop();
    await node?.stop();
  });

  it('waiting and running move under load, KV-cache use rises with generation, and all fall to zero after', async () => {
    const names = [
      { waiting: 'weft_llm_requests_waiting{model="tiny"}', running: 'weft_llm_requests_running{model="tiny"}', kv: 'weft_llm_kv_cache_usage_ratio{model="tiny"}' },
      { waiting: 'vllm:num_requests_waiting{model_name="tiny"}', running: 'vllm:num_requests_running{model_name="tiny"}', kv: 'vllm:kv_cache_usage_perc{model_name="tiny"}' },
    ];
    // Idle and loaded (--load eager): every series is there, at zero.
    for (const n of names) for (const expr of Object.values(n)) await prometheus.waitFor(expr, is(0));

    // Four streams that would each run for 30,000 tokens: two get the sequences, two wait.
    const done: Array<Promise<unknown>> = [];
    for (let i = 0; i < 4; i++) {
      const controller = new AbortController();
      streams.push(controller);
      done.push(
        (async () => {
          const stream = await node.client.chat.completions.create(
            { model: 'tiny', messages: [{ role: 'user', content: `Go on (${i}).` }], max_tokens: 30_000, stream: true },
            { signal: controller.signal },
          );
          for await (const chunk of stream) void chunk;
        })().catch(() => undefined),
      );
    }
    for (const n of names) {
      await prometheus.waitFor(n.running, is(2));
      await prometheus.waitFor(n.waiting, is(2));
    }
    // The running generations fill their sequences' KV cells token by token.
    const first = value(await prometheus.waitFor(names[0]!.kv, (v) => value(v) > 0));
    const later = value(await prometheus.waitFor(names[0]!.kv, (v) => value(v) > first));
    assert.ok(later <= 1, `KV-cache use ${later} is not a ratio`);
    await prometheus.waitFor(names[1]!.kv, (v) => value(v) > 0 && value(v) <= 1);
    // The node's own view agrees with what was scraped.
    const { body } = await fetchJson(`${node.weft.url}/v1/weft/llm`);
    assert.equal(body.models[0].inflight, 2);
    assert.ok(body.models[0].kvCacheUsage > 0);

    // The clients go away: queued requests leave the queue, running ones free their sequences.
    for (const c of streams) c.abort();
    await Promise.all(done);
    for (const n of names) for (const expr of Object.values(n)) await prometheus.waitFor(expr, is(0));
  });
});
