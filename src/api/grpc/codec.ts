// ModelInfer messages to and from the engine's tensors: inputs from `raw_input_contents` (the
// fast path: views on the received bytes where aligned) or from typed `contents`, checked as the
// HTTP decoder checks them; outputs as `raw_output_contents` or typed `contents`. Checks against
// the model's signature come later, in engine/validate.ts, for every transport alike.

import { ErrorCode, WeftError } from '../../errors.js';
import { Datatypes, dataToBytes, elementCount, type Datatype, type Tensor, type TensorData } from '../../backends/index.js';
import { decodeBinary, isDatatype } from '../kserve/decode.js';
import { fromJsonValues, toJsonValues } from '../kserve/datatypes.js';
import { checkStorage } from '../kserve/encode.js';
import type { InferInputTensor, InferParameter, InferTensorContents, ModelInferRequest, ModelInferResponse, Parameters } from './wire.js';

export interface DecodedModelInfer {
  model: string;
  version: string;
  id: string;
  inputs: Array<{ name: string; tensor: Tensor }>;
  /** Outputs asked for; empty means all. */
  outputs: string[];
  priority: number | undefined;
  /** The `timeout` parameter in microseconds; undefined or 0 means none. */
  timeoutUs: number | undefined;
  /** Answer with raw_output_contents (the request sent raw inputs, or asked for it). */
  rawOutput: boolean;
}

/** The contents field each datatype's elements travel in; FP16 has none and travels raw. */
const CONTENTS_FIELD: Record<Datatype, keyof InferTensorContents | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

export function decodeModelInfer(req: ModelInferRequest): DecodedModelInfer {
  const model = req.model_name ?? '';
  if (model === '') throw new WeftError(ErrorCode.BadRequest, 'model_name is empty', { field: 'model_name' });
  if (req.inputs.length === 0) throw new WeftError(ErrorCode.BadRequest, 'inputs must not be empty', { field: 'inputs' });
  const raw = req.raw_input_contents;
  if (raw.length > 0 && raw.length !== req.inputs.length) {
    throw new WeftError(ErrorCode.DataSizeMismatch, `raw_input_contents has ${raw.length} entries for ${req.inputs.length} inputs; give one per input, in order`, {
      field: 'raw_input_contents',
    });
  }
  const names = new Set<string>();
  const inputs = req.inputs.map((input, i) => decodeInput(input, i, raw.length > 0 ? raw[i]! : undefined, names));
  const outputs = req.outputs.map((o, i) => {
    if (!o.name) throw new WeftError(ErrorCode.BadRequest, `outputs[${i}] needs a name`, { field: `outputs[${i}].name` });
    return o.name;
  });
  const binary = req.parameters.binary_data_output;
  return {
    model,
    version: req.model_version ?? '',
    id: req.id ?? '',
    inputs,
    outputs,
    priority: integerParameter(req.parameters, 'priority'),
    timeoutUs: integerParameter(req.parameters, 'timeout'),
    rawOutput: raw.length > 0 || (binary?.parameter_choice === 'bool_param' && binary.bool_param === true),
  };
}

function decodeInput(input: InferInputTensor, i: number, raw: Uint8Array | undefined, names: Set<string>): { name: string; tensor: Tensor } {
  const field = `inputs[${i}]`;
  const name = input.name ?? '';
  if (name === '') throw new WeftError(ErrorCode.BadRequest, `${field} needs a non-empty name`, { field: `${field}.name` });
  if (names.has(name)) throw new WeftError(ErrorCode.BadRequest, `input '${name}' is given more than once`, { field: `${field}.name` });
  names.add(name);
  const datatype = input.datatype;
  if (!isDatatype(datatype)) {
    throw new WeftError(ErrorCode.InvalidDatatype, `input '${name}': unknown datatype ${JSON.stringify(datatype ?? '')}; valid datatypes are ${Datatypes.join(', ')}`, {
      field: `${field}.datatype`,
    });
  }
  const shape = input.shape.map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeftError(ErrorCode.InvalidShape, `input '${name}': shape must hold non-negative integers, got [${input.shape.join(',')}]`, { field: `${field}.shape` });
  }
  if (raw !== undefined) {
    if (input.contents !== undefined && hasElements(input.contents)) {
      throw new WeftError(ErrorCode.BadRequest, `input '${name}' has contents while the request uses raw_input_contents; give one or the other`, {
        field: `${field}.contents`,
      });
    }
    return { name, tensor: { datatype, shape, data: decodeBinary(raw, datatype, shape, { input: name, field: `raw_input_contents[${i}]` }) } };
  }
  return { name, tensor: { datatype, shape, data: decodeContents(input.contents, name, datatype, shape, `${field}.contents`) } };
}

function decodeContents(contents: InferTensorContents | undefined, name: string, datatype: Datatype, shape: number[], field: string): TensorData {
  const key = CONTENTS_FIELD[datatype];
  if (key === undefined) {
    throw new WeftError(ErrorCode.InvalidTensor, `input '${name}' is ${datatype}, which has no contents field; send it in raw_input_contents`, { field });
  }
  const values = contents?.[key] ?? [];
  const expected = elementCount(shape);
  if (values.length === 0 && expected > 0) {
    const other = contents === undefined ? undefined : (Object.keys(contents) as (keyof InferTensorContents)[]).find((k) => (contents[k]?.length ?? 0) > 0);
    const problem = other === undefined ? 'has no data: give contents, or raw_input_contents' : `is ${datatype}, whose elements go in contents.${key}, not contents.${other}`;
    throw new WeftError(ErrorCode.InvalidTensor, `input '${name}' ${problem}`, { field: `${field}.${other ?? key}` });
  }
  if (values.length !== expected) {
    throw new WeftError(ErrorCode.DataSizeMismatch, `input '${name}': contents.${key} has ${values.length} elements but shape [${shape.join(',')}] needs ${expected}`, {
      field: `${field}.${key}`,
    });
  }
  if (datatype === 'BYTES') return values as Uint8Array[];
  return fromJsonValues(datatype, values, { input: name, field: `${field}.${key}` });
}

function hasElements(contents: InferTensorContents): boolean {
  return Object.values(contents).some((v) => Array.isArray(v) && v.length > 0);
}

/** A non-negative integer parameter, whichever numeric choice the client used. */
function integerParameter(parameters: Parameters, name: string): number | undefined {
  const p: InferParameter | undefined = parameters[name];
  if (p === undefined) return undefined;
  const value = p.parameter_choice === undefined ? undefined : Number(p[p.parameter_choice]);
  if (value === undefined || typeof p[p.parameter_choice!] === 'boolean' || !Number.isSafeInteger(value) || value < 0) {
    throw new WeftError(ErrorCode.BadRequest, `parameter '${name}' must be a non-negative integer`, { field: `parameters.${name}` });
  }
  return value;
}

export interface EncodableResult {
  model: string;
  version: string;
  id: string;
  batchSize: number;
  batchRequests: number;
  outputs: Array<[string, Tensor]>;
  raw: boolean;
}

/** The response message; raw whenever asked for or when an output (FP16) has no typed field. */
export function encodeModelInfer(r: EncodableResult): ModelInferResponse {
  const raw = r.raw || r.outputs.some(([, t]) => CONTENTS_FIELD[t.datatype] === undefined);
  const response: ModelInferResponse = {
    model_name: r.model,
    model_version: r.version,
    id: r.id,
    parameters: {
      batch_size: { parameter_choice: 'int64_param', int64_param: r.batchSize },
      batch_requests: { parameter_choice: 'int64_param', int64_param: r.batchRequests },
    },
    outputs: [],
    raw_output_contents: [],
  };
  for (const [name, tensor] of r.outputs) {
    checkStorage(name, tensor);
    const output = { name, datatype: tensor.datatype, shape: tensor.shape };
    if (raw) {
      response.outputs.push(output);
      // A view on the backend's buffer: the protobuf writer copies it once, into the message.
      response.raw_output_contents.push(dataToBytes(tensor.data));
    } else {
      const key = CONTENTS_FIELD[tensor.datatype]!;
      const values = tensor.datatype === 'BYTES' ? (tensor.data as Uint8Array[]) : toJsonValues(tensor.datatype, tensor.data);
      response.outputs.push({ ...output, contents: { [key]: values } });
    }
  }
  return response;
}
