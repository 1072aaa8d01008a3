// The WIT generate request as the engine gets it: prompt or chat, options left out when `none`,
// and clear refusals for a bad role or a schema that is not a JSON object.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toGenerateInput } from './llm.js';

describe('toGenerateInput', () => {
  it('maps prompt, chat and the set options only', () => {
    assert.deepEqual(toGenerateInput({ tag: 'prompt', val: 'hi' }, { stop: [] }), { prompt: 'hi' });
    const chat = toGenerateInput({ tag: 'chat', val: [{ role: 'user', content: 'x' }] }, { maxTokens: 5, seed: 3, topK: 0, stop: ['\n'], jsonSchema: '{"type":"object"}' });
    assert.deepEqual(chat, { messages: [{ role: 'user', content: 'x' }], maxTokens: 5, seed: 3, topK: 0, stop: ['\n'], jsonSchema: { type: 'object' } });
  });

  it('refuses an unknown role and a schema that is not a JSON object, naming the field', () => {
    assert.throws(() => toGenerateInput({ tag: 'chat', val: [{ role: 'robot', content: 'x' }] }, { stop: [] }), (e: Error & { field?: string }) => {
      assert.match(e.message, /input.chat\[0\].role 'robot' is not one of system, user, assistant/);
      return true;
    });
    assert.throws(() => toGenerateInput({ tag: 'prompt', val: 'x' }, { stop: [], jsonSchema: '{oops' }), /params.json-schema is not JSON/);
    assert.throws(() => toGenerateInput({ tag: 'prompt', val: 'x' }, { stop: [], jsonSchema: '[1]' }), /must be a JSON object/);
  });
});
