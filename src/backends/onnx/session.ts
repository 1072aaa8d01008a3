// An ONNX Runtime session and the conversions around it: open on the requested execution
// provider (falling back to CPU when CUDA is not there), read the signature, run on Weft tensors.
// onnxruntime-node runs a session synchronously on the calling thread, so this code runs inside
// a model worker (onnx-worker.ts), never on the node's main thread.

import os from 'node:os';
import ort from 'onnxruntime-node';
import type { Datatype, Device, LoadOptions, ModelSignature, Tensor, TensorSpec } from '../types.js';

const ORT_TO_DATATYPE: Record<string, Datatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};
const DATATYPE_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_DATATYPE).map(([k, v]) => [v, k])) as Record<Datatype, ort.Tensor.Type>;

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

function toSpec(meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) throw new Error(`'${meta.name}' is not a tensor; only tensor inputs and outputs are supported`);
  const datatype = ORT_TO_DATATYPE[meta.type];
  if (datatype === undefined) throw new Error(`'${meta.name}' has element type ${meta.type}, which Weft does not serve`);
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  if (tensor.datatype === 'BYTES') {
    const strings = (tensor.data as Uint8Array[]).map((b) => utf8Decoder.decode(b));
    return new ort.Tensor('string', strings, tensor.shape);
  }
  return new ort.Tensor(DATATYPE_TO_ORT[tensor.datatype], tensor.data as Exclude<Tensor['data'], Uint8Array[]>, tensor.shape);
}

function fromOrtTensor(value: ort.Tensor): Tensor {
  const datatype = ORT_TO_DATATYPE[value.type];
  if (datatype === undefined) throw new Error(`model produced element type ${value.type}, which Weft does not serve`);
  const shape = [...value.dims];
  if (datatype === 'BYTES') return { datatype, shape, data: (value.data as string[]).map((s) => utf8Encoder.encode(s)) };
  return { datatype, shape, data: value.data as Exclude<Tensor['data'], Uint8Array[]> };
}

export interface OpenSession {
  session: ort.InferenceSession;
  signature: ModelSignature;
  device: Device;
  /** Why the session runs on the CPU although CUDA was asked for. */
  warning?: string;
}

export async function openSession(path: string, options: LoadOptions): Promise<OpenSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // Idle ORT threads spin by default, burning the cores the node's main thread (HTTP, other
    // models) needs while this worker runs beside it.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  // Unset, ORT gives each session a thread per core; several instances would then overbook the
  // cores (measured: --instances 2 --intra-op-threads 1 ran +54% at C=4 over 2 threads each).
  const threads = options.intraOpThreads > 0 ? options.intraOpThreads : options.instances > 1 ? Math.max(1, Math.floor(os.availableParallelism() / options.instances)) : 0;
  if (threads > 0) base.intraOpNumThreads = threads;
  const described = (session: ort.InferenceSession) => ({ inputs: session.inputMetadata.map(toSpec), outputs: session.outputMetadata.map(toSpec) });
  let warning: string | undefined;
  if (options.device === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda'] });
      return { session, signature: described(session), device: 'cuda' };
    } catch (err) {
      warning = `CUDA is not available for ${path} (${(err as Error).message.split('\n')[0]}); running on CPU`;
    }
  }
  const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  return { session, signature: described(session), device: 'cpu', ...(warning === undefined ? {} : { warning }) };
}

export async function runSession(session: ort.InferenceSession, inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(inputs)) feeds[name] = toOrtTensor(tensor);
  const results = outputs.length > 0 ? await session.run(feeds, [...outputs]) : await session.run(feeds);
  const out: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(value);
  return out;
}
