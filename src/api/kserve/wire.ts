// The KServe v2 / Open Inference Protocol wire contract: the JSON shapes of requests and
// responses exactly as clients send and receive them. Leaf module: decoding and validation of
// these shapes live in decode.ts; nothing here depends on the server.

/** Free-form parameters; the spec allows strings, numbers and booleans as values. */
export type WireParameters = Record<string, unknown>;

/** One JSON tensor element: a number, a boolean, a string (BYTES, or INT64 beyond 2^53), or null. */
export type WireElement = number | boolean | string | null;

/** Tensor contents: flat row-major, or nested arrays whose nesting follows the shape. */
export type WireTensorData = (WireElement | WireTensorData)[];

export interface InferRequestInput {
  /** Input tensor name as the model declares it. */
  name: string;
  /** Concrete shape of this tensor, row-major. */
  shape: number[];
  /** Datatype name, e.g. `FP32`, `INT64`, `BYTES`. */
  datatype: string;
  /** Per-input parameters; `binary_data_size` moves the data into the binary section. */
  parameters?: WireParameters;
  /** Elements, absent when `parameters.binary_data_size` is set. */
  data?: WireTensorData;
}

export interface InferRequestOutput {
  /** Output tensor name to return. */
  name: string;
  /** Per-output parameters; `binary_data: true` asks for the output in the binary section. */
  parameters?: WireParameters;
}

export interface InferRequest {
  /** Client-chosen request id, echoed in the response. */
  id?: string;
  /** Request parameters; `binary_data_output: true` makes every output binary by default. */
  parameters?: WireParameters;
  /** Input tensors; at least one. */
  inputs: InferRequestInput[];
  /** Outputs to return; absent or empty returns all of them. */
  outputs?: InferRequestOutput[];
}

export interface InferResponseOutput {
  /** Output tensor name. */
  name: string;
  /** Concrete shape of this tensor, row-major. */
  shape: number[];
  /** Datatype name, e.g. `FP32`. */
  datatype: string;
  /** Per-output parameters; `binary_data_size` says the data is in the binary section. */
  parameters?: WireParameters;
  /** Elements in row-major order, absent for binary outputs. */
  data?: WireElement[];
}

export interface InferResponse {
  /** Name of the model that answered. */
  model_name: string;
  /** Version of the model that answered. */
  model_version?: string;
  /** The request's id, when it had one. */
  id?: string;
  /** Response parameters. */
  parameters?: WireParameters;
  /** Output tensors. */
  outputs: InferResponseOutput[];
}

export interface ServerMetadata {
  /** Server name. */
  name: string;
  /** Server version. */
  version: string;
  /** Protocol extensions the server supports, e.g. `binary_tensor_data`. */
  extensions: string[];
}

export interface TensorMetadata {
  /** Tensor name. */
  name: string;
  /** Datatype name. */
  datatype: string;
  /** Declared shape; -1 marks a dynamic dimension. */
  shape: number[];
}

export interface ModelMetadata {
  /** Model name. */
  name: string;
  /** Versions of the model available. */
  versions?: string[];
  /** Framework that runs the model, e.g. `onnxruntime_onnx`. */
  platform: string;
  /** Inputs the model takes. */
  inputs: TensorMetadata[];
  /** Outputs the model produces. */
  outputs: TensorMetadata[];
}

export interface RepositoryIndexEntry {
  /** Model name. */
  name: string;
  /** Model version. */
  version?: string;
  /** Model state, e.g. `READY`, `UNAVAILABLE`. */
  state?: string;
  /** Why the model is in that state, when it is not ready. */
  reason?: string;
}
