// weft:ai/inference — the granted models, their signatures and runs, and (from llm.ts) the
// language-model functions. Runs go through the engine's per-model queues and batcher on the
// main thread, so a component's calls batch with protocol requests; the worker blocks on the
// bridge until the answer is back.

import { ErrorCode, toWeftError, WeftError } from '../../errors.js';
import { tensorsByName } from '../../engine/index.js';
import { llmGuest, llmHostOps } from './llm.js';
import type { Factor, GuestContext, HostAnswer, HostContext } from './types.js';
import { witErr } from './types.js';
import { fromWit, toWit, witDatatype, type WitTensor } from './tensors.js';

interface WitError {
  code: 'not-granted' | 'not-found' | 'invalid-input' | 'unavailable' | 'failed';
  message: string;
}

function notGranted(ctx: GuestContext, model: string): { tag: 'err'; val: WitError } {
  return witErr({
    code: 'not-granted',
    message: `the component of app '${ctx.app}' may not use model '${model}': add it to grants.models in weft.json`,
  });
}

const CODES: Partial<Record<ErrorCode, WitError['code']>> = {
  MODEL_NOT_FOUND: 'not-found',
  VERSION_NOT_FOUND: 'not-found',
  BAD_REQUEST: 'invalid-input',
  INVALID_TENSOR: 'invalid-input',
  INVALID_DATATYPE: 'invalid-input',
  INVALID_SHAPE: 'invalid-input',
  DATA_SIZE_MISMATCH: 'invalid-input',
  UNKNOWN_INPUT: 'invalid-input',
  MISSING_INPUT: 'invalid-input',
  UNKNOWN_OUTPUT: 'invalid-input',
  BATCH_TOO_LARGE: 'invalid-input',
  QUEUE_FULL: 'unavailable',
  QUEUE_TIMEOUT: 'unavailable',
  MODEL_UNAVAILABLE: 'unavailable',
  MEMORY_BUDGET_EXCEEDED: 'unavailable',
  SHUTTING_DOWN: 'unavailable',
  CONTEXT_LENGTH_EXCEEDED: 'invalid-input',
  MODEL_LOAD_FAILED: 'unavailable',
  UPSTREAM_UNAVAILABLE: 'unavailable',
  CANCELLED: 'unavailable',
  DEADLINE_EXCEEDED: 'unavailable',
};

function asWitError(err: unknown): { tag: 'err'; val: WitError } {
  const e = toWeftError(err);
  return witErr({ code: CODES[e.code] ?? 'failed', message: e.message });
}

/** LLM host operations, their failures answered as typed WIT errors. */
const LLM_OPS = Object.fromEntries(
  Object.entries(llmHostOps(granted)).map(([name, op]) => [
    name,
    async (ctx: HostContext, payload: never): Promise<HostAnswer> => {
      try {
        return await op(ctx, payload);
      } catch (err) {
        return { value: asWitError(err) };
      }
    },
  ]),
);

function granted(ctx: HostContext, model: string): void {
  // Checked again here: the worker's check is a courtesy, this one is the boundary.
  if (!ctx.grants.models.includes(model)) {
    throw new WeftError(ErrorCode.BadRequest, `model '${model}' is not granted to app '${ctx.app}'`);
  }
}

export const inferenceFactor: Factor = {
  interface: 'weft:ai/inference',
  guest: (ctx) => ({
    models: () => [...ctx.grants.models],
    signature: (model: string) => (ctx.grants.models.includes(model) ? ctx.call('weft:ai/inference#signature', model) : notGranted(ctx, model)),
    run: (model: string, inputs: WitTensor[]) => {
      if (!ctx.grants.models.includes(model)) return notGranted(ctx, model);
      const transfer: ArrayBuffer[] = [];
      const plain = inputs.map((t) => {
        const data = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength ? t.data : t.data.slice();
        transfer.push(data.buffer as ArrayBuffer);
        return { name: t.name, datatype: t.datatype, shape: Array.from(t.shape), data };
      });
      return ctx.call('weft:ai/inference#run', { model, inputs: plain }, transfer);
    },
    ...llmGuest(ctx, notGranted),
  }),
  host: {
    signature: async (ctx: HostContext, model: string) => {
      try {
        granted(ctx, model);
        const { signature, maxBatchSize } = await ctx.engine.signature(model);
        const spec = (s: { name: string; datatype: Parameters<typeof witDatatype>[0]; shape: number[] }) => ({
          name: s.name,
          datatype: witDatatype(s.datatype),
          shape: BigInt64Array.from(s.shape.map(BigInt)),
        });
        return { value: { tag: 'ok', val: { inputs: signature.inputs.map(spec), outputs: signature.outputs.map(spec), maxBatchSize } } };
      } catch (err) {
        return { value: asWitError(err) };
      }
    },
    run: async (ctx: HostContext, payload: { model: string; inputs: WitTensor[] }) => {
      try {
        granted(ctx, payload.model);
        const inputs = tensorsByName(payload.inputs.map((t) => ({ name: t.name, tensor: fromWit(t) })));
        const result = await ctx.engine.infer(payload.model, undefined, { inputs, outputs: [], signal: ctx.signal, scope: ctx.scope });
        // An output may be a view into a batch shared with other requests: copy exactly its bytes
        // (cloning the view would copy the whole batch), then hand the copy over without another.
        const outputs = Object.entries(result.outputs).map(([name, t]) => {
          const w = toWit(name, t);
          return { ...w, data: w.data.slice() };
        });
        const transfer = outputs.map((o) => o.data.buffer as ArrayBuffer);
        return { value: { tag: 'ok', val: outputs }, transfer };
      } catch (err) {
        return { value: asWitError(err) };
      }
    },
    ...LLM_OPS,
  },
  validate: (manifest, { engine }) => {
    const served = new Set(engine.names());
    manifest.component?.grants.models.forEach((model, i) => {
      if (!served.has(model)) {
        throw new WeftError(ErrorCode.InvalidManifest, `component.grants.models[${i}]: model '${model}' is not served by this node (served: ${[...served].join(', ') || 'none'})`, {
          field: `component.grants.models[${i}]`,
        });
      }
    });
  },
};
