// The contract every backend (onnx, llama, remote) implements, and the tensor type that flows
// between the api, the engine and the backends. Leaf module: depends on nothing else here.

/** Tensor datatypes as the KServe v2 / Open Inference Protocol names them. */
export const Datatypes = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof Datatypes)[number];

/**
 * Element storage per datatype. FP16 is kept as raw IEEE-754 half bits in a Uint16Array, BOOL as
 * 0/1 bytes in a Uint8Array, BYTES as one Uint8Array per element.
 */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | Uint8Array[];

export interface Tensor {
  /** Tensor datatype. */
  datatype: Datatype;
  /** Concrete shape, row-major. */
  shape: number[];
  /** Elements in row-major order; length equals the product of `shape`. */
  data: TensorData;
}

export interface TensorSpec {
  /** Tensor name as the model declares it. */
  name: string;
  /** Tensor datatype. */
  datatype: Datatype;
  /** Declared shape; -1 marks a dynamic dimension. */
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export const Devices = ['cpu', 'cuda'] as const;
export type Device = (typeof Devices)[number];

export interface LoadOptions {
  /** Requested execution device; a backend may fall back (and says so in `LoadedModel.device`). */
  device: Device;
  /** Threads inside one run (0 lets the runtime decide). */
  intraOpThreads: number;
  /** Copies of the model that run at once (each takes the model's memory). */
  instances: number;
}

export interface LoadedModel {
  readonly signature: ModelSignature;
  /** Device the model actually runs on. */
  readonly device: Device;
  /**
   * Memory measured at load: the process's RSS growth while its sessions opened (process-wide,
   * so concurrent work can add to it; the worker threads' own ~30 MB are not in it). Absent where
   * the backend cannot measure.
   */
  readonly measuredBytes?: number;
  /** The thread count the backend chose for it on real traffic, and why, once chosen. */
  readonly threads?: string;
  /** Runs the model; returns the requested outputs (all outputs when `outputs` is empty). */
  run(inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>>;
  /** Releases the model's memory. The model is not used after this. */
  dispose(): Promise<void>;
}

export interface Backend {
  /** Platform name reported in model metadata, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  load(path: string, options: LoadOptions): Promise<LoadedModel>;
  /** Reads a model file's signature without loading it (metadata of a model not loaded yet); throws for a file that is no model. */
  describe?(path: string): ModelSignature;
}

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
