// The engine's one service over both kinds: tensor models (real ONNX Runtime sessions of generated
// models) and language models (an upstream, never contacted here) in one catalog — names, states,
// readiness, explicit unload and load, and the rule that names are unique across kinds.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModels } from '../../test/kit/models.js';
import type { Tensor } from '../backends/index.js';
import { loadConfig } from '../config/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { createLogger } from '../telemetry/index.js';
import { testEngine } from '../../test/kit/engine.js';
import type { ModelService } from './model-service.js';
import { resolveModels } from './repository.js';

const x: Record<string, Tensor> = { x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } };

describe('ModelService', () => {
  let dir: string;
  let engine: ModelService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-engine-'));
    await writeTestModels(dir);
    // Port 9 (discard) on loopback: the upstream is listed and unloaded, never called.
    const config = loadConfig({ flags: { models: dir, upstream: 'chat=http://127.0.0.1:9/v1' } });
    engine = testEngine(createLogger('error', () => undefined), { definitions: resolveModels(config) });
  });
  after(async () => {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every model of both kinds in one catalog, with one state vocabulary', () => {
    assert.ok(engine.has('affine') && engine.has('chat') && !engine.has('nope'));
    assert.deepEqual(engine.names(), [...engine.names()].sort());
    const kinds = new Map(engine.status().map((s) => [s.name, s.kind]));
    assert.equal(kinds.get('affine'), 'tensor');
    assert.equal(kinds.get('chat'), 'language');
    assert.deepEqual(engine.languageModels().map((m) => m.name), ['chat']);
    for (const s of engine.status()) assert.equal(s.state, 'unloaded', `${s.name} before any call`);
  });

  it('unloads and loads a model of either kind through the same calls', async () => {
    await engine.unload('chat');
    assert.deepEqual(engine.readiness('chat'), { ready: false, reason: 'unloaded' });
    const chat = engine.status().find((s) => s.name === 'chat')!;
    assert.equal(chat.state, 'unavailable');
    const events = engine.generate('chat', { prompt: 'hi' }, { signal: new AbortController().signal });
    await assert.rejects(events.next(), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelUnavailable);

    await engine.unload('affine');
    assert.equal(engine.readiness('affine').ready, false);
    await assert.rejects(engine.infer('affine', undefined, { inputs: x, outputs: [] }), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelUnavailable);
    await engine.load('affine');
    assert.equal(engine.readiness('affine').ready, true);
    const result = await engine.infer('affine', undefined, { inputs: x, outputs: [] });
    assert.equal(result.model, 'affine');
    assert.equal(engine.status().find((s) => s.name === 'affine')!.state, 'ready');
  });

  it('refuses a name already served by the other kind, adding nothing', () => {
    const [affine] = resolveModels(loadConfig({ flags: { models: dir } })).filter((d) => d.name === 'affine');
    const before = engine.names();
    assert.throws(() => engine.add([{ ...affine!, name: 'fresh' }, { ...affine!, name: 'chat' }]), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.InvalidConfig && /'chat' is already served/.test(e.message));
    assert.deepEqual(engine.names(), before);
  });

  it('answers not found for an unknown model, whichever call', async () => {
    assert.throws(() => engine.readiness('nope'), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelNotFound);
    await assert.rejects(engine.load('nope'), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelNotFound);
  });

  it('answers a call of the wrong kind with the API the model does answer', async () => {
    await assert.rejects(engine.infer('chat', undefined, { inputs: x, outputs: [] }), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelNotFound && /language model: it answers the OpenAI API/.test(e.message));
    await assert.rejects(engine.signature('chat'), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelNotFound && /language model/.test(e.message));
    await assert.rejects(engine.generate('affine', { prompt: 'hi' }, { signal: new AbortController().signal }).next(), (e: unknown) => e instanceof WeftError && e.code === ErrorCode.ModelNotFound && /tensor model: it answers KServe v2/.test(e.message));
    await assert.rejects(engine.embed('affine', ['hi'], { signal: new AbortController().signal }), (e: unknown) => e instanceof WeftError && /tensor model/.test(e.message));
  });
});
