// End to end: a language model that travels inside an app — a GGUF file named in weft.json —
// is served through the OpenAI API once the app is deployed, from a folder and from a packed OCI
// layout, and goes away with the app.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWeft, fetchJson, postJson, type WeftProcess } from './kit/weft-process.js';
import { openAiClient } from './kit/llm.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let dir: string;
let weft: WeftProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-llm-app-'));
  for (const app of ['chat', 'chat2']) {
    mkdirSync(join(dir, app, 'models'), { recursive: true });
    writeTinyGguf(join(dir, app, 'models', 'tiny.gguf'));
    writeFileSync(join(dir, app, 'weft.json'), JSON.stringify({ name: app, version: '1.0.0', models: [{ name: `${app}-tiny`, file: 'models/tiny.gguf', serving: { parallel: 1 } }] }));
  }
  execFileSync(process.execPath, [CLI, 'pack', join(dir, 'chat2'), '-o', join(dir, 'chat2-layout')], { env: { ...process.env, WEFT_DATA_DIR: join(dir, 'data') } });
  weft = await startWeft(['--app', join(dir, 'chat'), '--allow-unsigned', '--llm-threads', '1']);
});
after(async () => {
  await weft.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('serves a GGUF model an app brings through the OpenAI API, and removes it with the app', async () => {
  const client = openAiClient(weft.url);
  const models = await client.models.list();
  assert.ok(models.data.some((m) => m.id === 'chat-tiny'), JSON.stringify(models.data));
  const reply = await client.chat.completions.create({ model: 'chat-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, seed: 1 });
  assert.equal(reply.usage?.completion_tokens, 5);

  const deployed = await postJson(`${weft.url}/admin/apps`, { ref: join(dir, 'chat2-layout') });
  assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  assert.deepEqual(deployed.body.app.models, ['chat2-tiny']);
  const second = await client.completions.create({ model: 'chat2-tiny', prompt: 'a', max_tokens: 3 });
  assert.equal(second.usage?.completion_tokens, 3);

  assert.equal((await fetchJson(`${weft.url}/admin/apps/chat2`, { method: 'DELETE' })).status, 200);
  await assert.rejects(client.completions.create({ model: 'chat2-tiny', prompt: 'a', max_tokens: 3 }), (err: { status?: number }) => err.status === 404);
});
