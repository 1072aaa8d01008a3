// The gRPC messages of the Open Inference Protocol as @grpc/proto-loader hands them over and takes
// them back (proto field names kept, 64-bit integers as decimal strings, absent fields
// undefined, repeated fields and maps always present). Leaf module: proto/grpc_predict_v2.proto
// is the contract, this is its shape in TypeScript.

/** A 64-bit integer: a decimal string when received, a number or a string when sent. */
export type Int64 = string | number;

/** One parameter; `parameter_choice` names the field that is set. */
export interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export type Parameters = Record<string, InferParameter>;

/** Typed tensor elements, one field per datatype family. */
export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputTensor {
  name?: string;
  datatype?: string;
  shape: Int64[];
  parameters: Parameters;
  contents?: InferTensorContents;
}

export interface InferRequestedOutputTensor {
  name?: string;
  parameters: Parameters;
}

export interface ModelInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters: Parameters;
  inputs: InferInputTensor[];
  outputs: InferRequestedOutputTensor[];
  raw_input_contents: Uint8Array[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: InferTensorContents;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Parameters;
  outputs: InferOutputTensor[];
  raw_output_contents: Uint8Array[];
}

/** ModelReady and ModelMetadata requests. */
export interface ModelRef {
  name?: string;
  version?: string;
}

export interface RepositoryIndexRequest {
  repository_name?: string;
  ready?: boolean;
}

/** RepositoryModelLoad and RepositoryModelUnload requests. */
export interface RepositoryModelRequest {
  repository_name?: string;
  model_name?: string;
}
