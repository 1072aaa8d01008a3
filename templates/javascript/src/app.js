// POST a question, get the language model's answer as JSON. The model is granted in weft.json;
// an uncaught exception reaches the caller as 500 APP_FAILED with its message.
import { generate } from 'weft:ai/inference@0.1.0';
import { get } from 'weft:app/config@0.1.0';

export const handler = {
  handle(req) {
    const question = new TextDecoder().decode(req.body).trim();
    if (question === '') throw { kind: 'bad-request', message: 'POST a question as the body' };
    const params = { maxTokens: 48, temperature: 0, seed: 1, stop: [] };
    const answer = generate(get('model'), { tag: 'chat', val: [{ role: 'user', content: question }] }, params);
    const body = JSON.stringify({ answer: answer.text, tokens: answer.usage.completionTokens });
    return { status: 200, headers: [['content-type', 'application/json']], body: new TextEncoder().encode(body) };
  },
};
