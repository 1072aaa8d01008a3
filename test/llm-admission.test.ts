// One sequence (--llm-parallel 1) and a queue of one: a second request waits, a third gets 429
// with Retry-After at once, and a client that disconnects mid-stream frees the sequence for the
// waiting request. Every step waits for a state, never for a time. And the memory budget.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { startTinyNode, type TinyNode } from './kit/llm.js';
import { fetchJson } from './kit/weft-process.js';

const hello = [{ role: 'user' as const, content: 'Go on.' }];

describe('LLM admission control and disconnects', () => {
  let node: TinyNode;
  before(async () => {
    node = await startTinyNode(['--llm-parallel', '1', '--max-queue-size', '1', '--llm-context-size', '32768']);
  });
  after(() => node?.stop());

  async function state(): Promise<{ inflight: number; queued: number; stats: { failures: number; completionTokens: number } }> {
    const { body } = await fetchJson(`${node.weft.url}/v1/weft/llm`);
    return { ...body.models[0], stats: body.stats.tiny };
  }

  /** Polls the node's state until `check` holds; a bound on polls (not a timing margin) keeps a bug from hanging the suite. */
  async function until(check: (s: Awaited<ReturnType<typeof state>>) => boolean): Promise<void> {
    for (let i = 0; !check(await state()); i++) {
      if (i > 3000) assert.fail('the node never reached the expected state');
      await sleep(20);
    }
  }

  it('queues, refuses beyond the queue, and frees a disconnected stream’s sequence', async () => {
    // A: a generation that would run for 30,000 tokens.
    const controller = new AbortController();
    const a = await node.client.chat.completions.create(
      { model: 'tiny', messages: hello, max_tokens: 30_000, stream: true },
      { signal: controller.signal },
    );
    const reader = a[Symbol.asyncIterator]();
    assert.equal((await reader.next()).done, false);

    // B waits for A's sequence.
    const b = node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4 });
    await until((s) => s.queued === 1);

    // C finds the queue full.
    await assert.rejects(node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 4 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.code, 'queue_full');
      assert.ok(Number(err.headers.get('retry-after')) >= 1);
      return true;
    });

    // A's client goes away: its generation stops and B gets the sequence.
    controller.abort();
    const done = await b;
    assert.equal(done.usage!.completion_tokens, 4);
    await until((s) => s.inflight === 0);
    const { stats } = await state();
    assert.equal(stats.failures, 1);
    assert.ok(stats.completionTokens < 30_000, `A stopped early (${stats.completionTokens} tokens in all)`);
  });
});

describe('LLM memory budget', () => {
  it('counts a GGUF against the node budget and refuses it when it does not fit', async () => {
    const node = await startTinyNode(['--load', 'lazy', '--memory-budget', '100KB']);
    try {
      await assert.rejects(node.client.chat.completions.create({ model: 'tiny', messages: hello, max_tokens: 2 }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 503);
        assert.equal(err.code, 'memory_budget_exceeded');
        return true;
      });
    } finally {
      await node.stop();
    }
  });
});
