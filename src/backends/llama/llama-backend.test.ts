// The tiny GGUF loaded in process: prompts that cannot fit the context are refused by their size
// in bytes, without tokenizing them; a prompt is tokenized once for check() and generate(); the
// grammar cache keeps a bounded number of schemas.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyGguf } from '../../../test/kit/tiny-gguf.js';
import { WeftError } from '../../errors.js';
import type { GenerateInput } from '../llm-types.js';
import { LlamaBackend, type LlamaLocalModel } from './llama-backend.js';

const CONTEXT = 512;
/** The tiny vocabulary's longest token is `<|im_start|>` (12 bytes); one more for a space llama.cpp strips. */
const LONGEST = 13;

describe('a GGUF model refusing what cannot fit', () => {
  let dir: string;
  let model: LlamaLocalModel;
  /** Texts the model tokenized, seen through a proxy on its tokenizer. */
  const tokenized: number[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-llama-'));
    const backend = new LlamaBackend({ warn: () => undefined });
    model = await backend.load(writeTinyGguf(join(dir, 'tiny.gguf')), { device: 'cpu', contextSize: CONTEXT, parallel: 1, threads: 1 });
    const inner = (model as unknown as { model: object }).model as Record<string, unknown>;
    // The wrapper keeps the tokenizer's properties (its detokenize, isSpecialToken...).
    const count = (fn: (...args: unknown[]) => unknown) =>
      Object.assign((...args: unknown[]) => {
        tokenized.push(typeof args[0] === 'string' ? Buffer.byteLength(args[0]) : -1);
        return fn(...args);
      }, fn);
    (model as unknown as { model: object }).model = new Proxy(inner, {
      get: (target, key) => {
        const value = Reflect.get(target, key) as unknown;
        if ((key === 'tokenize' || key === 'tokenizer') && typeof value === 'function') return count(value as (...args: unknown[]) => unknown);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  });
  after(async () => {
    await model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(input: GenerateInput): Promise<WeftError> {
    let caught: unknown;
    await model.check(input).catch((err: unknown) => (caught = err));
    assert.ok(caught instanceof WeftError, `expected a refusal, got ${String(caught)}`);
    assert.equal(caught.code, 'CONTEXT_LENGTH_EXCEEDED');
    return caught;
  }

  it('refuses a prompt of more than context × longest-token bytes without tokenizing it', async () => {
    tokenized.length = 0;
    const err = await refusal({ prompt: 'x'.repeat(CONTEXT * LONGEST + 1) });
    assert.equal(err.field, 'prompt');
    assert.match(err.message, new RegExp(`the prompt is ${CONTEXT * LONGEST + 1} bytes`));
    assert.match(err.message, /13 bytes/);
    assert.deepEqual(tokenized, []);
    // One byte less might fit as far as its size tells: it is tokenized, and refused by its tokens.
    const counted = await refusal({ prompt: 'x'.repeat(CONTEXT * LONGEST) });
    assert.match(counted.message, /tokens/);
    assert.equal(tokenized.length, 1);
  });

  it('refuses chat messages and embedding inputs by their size too', async () => {
    tokenized.length = 0;
    const err = await refusal({ messages: [{ role: 'user', content: 'x'.repeat(CONTEXT * LONGEST + 1) }] });
    assert.equal(err.field, 'messages');
    assert.match(err.message, /bytes/);
    await assert.rejects(model.embed(['ok', 'x'.repeat(CONTEXT * LONGEST + 1)], AbortSignal.timeout(10_000)), (e: unknown) => {
      assert.ok(e instanceof WeftError);
      assert.equal(e.code, 'CONTEXT_LENGTH_EXCEEDED');
      assert.equal(e.field, 'input[1]');
      assert.match(e.message, /bytes/);
      return true;
    });
    // Only 'ok' was tokenized.
    assert.deepEqual(tokenized, [2]);
  });

  it('tokenizes a prompt once for check() and generate()', async () => {
    const input: GenerateInput = { prompt: 'Once upon a time', maxTokens: 2, seed: 1 };
    tokenized.length = 0;
    await model.check(input);
    let done: unknown;
    for await (const event of model.generate(input, AbortSignal.timeout(30_000))) if (event.type === 'done') done = event;
    assert.equal(tokenized.length, 1);
    assert.ok((done as { promptTokens: number }).promptTokens > 0);
  });

  it('keeps a bounded number of grammars', async () => {
    const grammars = (model as unknown as { grammars: Map<string, unknown> }).grammars;
    for (let i = 0; i < 100; i++) {
      await model.check({ prompt: 'x', jsonSchema: { type: 'object', properties: { [`p${i}`]: { type: 'string' } } } });
    }
    assert.ok(grammars.size <= 32, `${grammars.size} grammars kept`);
    // The most recently used ones stay.
    assert.ok(grammars.has(JSON.stringify({ type: 'object', properties: { p99: { type: 'string' } } })));
  });
});
