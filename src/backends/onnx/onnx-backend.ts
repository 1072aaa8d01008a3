// ONNX models on onnxruntime-node: loads a session on the requested execution provider (falling
// back to CPU with a warning when CUDA is not there), reads its signature, runs it.

import ort from 'onnxruntime-node';
import type { Backend, Datatype, Device, LoadedModel, LoadOptions, ModelSignature, Tensor, TensorSpec } from '../types.js';

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
const DATATYPE_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_DATATYPE).map(([k, v]) => [v, k])) as Record<
  Datatype,
  ort.Tensor.Type
>;

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

function toSpec(meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) throw new Error(`'${meta.name}' is not a tensor; only tensor inputs and outputs are supported`);
  const datatype = ORT_TO_DATATYPE[meta.type];
  if (datatype === undefined) throw new Error(`'${meta.name}' has element type ${meta.type}, which Weft does not serve`);
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  const type = DATATYPE_TO_ORT[tensor.datatype];
  if (tensor.datatype === 'BYTES') {
    const strings = (tensor.data as Uint8Array[]).map((b) => utf8Decoder.decode(b));
    return new ort.Tensor('string', strings, tensor.shape);
  }
  return new ort.Tensor(type, tensor.data as Exclude<Tensor['data'], Uint8Array[]>, tensor.shape);
}

function fromOrtTensor(value: ort.Tensor): Tensor {
  const datatype = ORT_TO_DATATYPE[value.type];
  if (datatype === undefined) throw new Error(`model produced element type ${value.type}, which Weft does not serve`);
  const shape = [...value.dims];
  if (datatype === 'BYTES') {
    return { datatype, shape, data: (value.data as string[]).map((s) => utf8Encoder.encode(s)) };
  }
  return { datatype, shape, data: value.data as Exclude<Tensor['data'], Uint8Array[]> };
}

class OnnxModel implements LoadedModel {
  readonly signature: ModelSignature;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly device: Device,
  ) {
    this.signature = {
      inputs: session.inputMetadata.map(toSpec),
      outputs: session.outputMetadata.map(toSpec),
    };
  }

  async run(inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(inputs)) feeds[name] = toOrtTensor(tensor);
    const fetches = outputs.length > 0 ? [...outputs] : undefined;
    const results = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(value);
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export interface OnnxBackendOptions {
  /** Where a CUDA fallback warning goes. */
  warn: (message: string) => void;
}

export class OnnxBackend implements Backend {
  readonly platform = 'onnxruntime_onnx';

  constructor(private readonly options: OnnxBackendOptions) {}

  async load(path: string, options: LoadOptions): Promise<LoadedModel> {
    const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    if (options.intraOpThreads > 0) base.intraOpNumThreads = options.intraOpThreads;
    if (options.device === 'cuda') {
      try {
        const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda'] });
        return new OnnxModel(session, 'cuda');
      } catch (err) {
        this.options.warn(`CUDA is not available for ${path} (${(err as Error).message.split('\n')[0]}); running on CPU`);
      }
    }
    const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    return new OnnxModel(session, 'cpu');
  }
}
