// Decodes a KServe v2 inference request body — JSON, or a JSON header followed by raw tensor
// bytes (binary tensor data extension) — into tensors, checking its structure, datatypes, shapes
// and sizes. Checks against the model's signature come later, in engine/validate.ts.

import { ErrorCode, WeftError } from '../../errors.js';
import { Datatypes, elementCount, type Datatype, type Tensor, type TensorData } from '../../backends/index.js';
import { fromJsonValues, type ElementSite } from './datatypes.js';
import { dataFromBytes, elementSize } from '../../backends/index.js';
import { MAX_JSON_DEPTH, parseJsonBytes } from '../../http/index.js';

export interface DecodedInput {
  name: string;
  tensor: Tensor;
  /** The input's parameters, less the transport key `binary_data_size`. */
  parameters: Record<string, unknown>;
}

export interface RequestedOutput {
  name: string;
  /** Whether to return this output in the binary section. */
  binary: boolean;
  /** The output's parameters, less the transport key `binary_data`. */
  parameters: Record<string, unknown>;
}

export interface DecodedInferRequest {
  id?: string;
  /** Request parameters, less the transport key `binary_data_output`. */
  parameters: Record<string, unknown>;
  inputs: DecodedInput[];
  /** Outputs asked for; empty means all. */
  outputs: RequestedOutput[];
  /** The request parameter `binary_data_output`: the default for outputs not listed. */
  binaryOutputDefault: boolean;
}

type JsonObject = Record<string, unknown>;

const HEADER_FIELD = 'Inference-Header-Content-Length';

/**
 * Decodes a request. `headerLength` is the Inference-Header-Content-Length header: when set, the
 * body's first `headerLength` bytes are JSON and the rest is binary input data, in input order.
 * Binary tensors are views on `body` where alignment allows, so `body` must not be reused.
 */
export function decodeInferRequest(body: Uint8Array, headerLength: number | undefined, maxJsonDepth = MAX_JSON_DEPTH): DecodedInferRequest {
  if (headerLength !== undefined && !(Number.isSafeInteger(headerLength) && headerLength >= 0 && headerLength <= body.length)) {
    throw sizeError(`${HEADER_FIELD} is ${headerLength}, which does not fit a body of ${body.length} bytes`, HEADER_FIELD);
  }
  const json = parseJsonBytes(headerLength === undefined ? body : body.subarray(0, headerLength), maxJsonDepth);
  if (!isObject(json)) throw new WeftError(ErrorCode.BadRequest, 'the request must be a JSON object');

  if (json.id !== undefined && typeof json.id !== 'string') {
    throw new WeftError(ErrorCode.BadRequest, 'id must be a string', { field: 'id' });
  }
  const { binary_data_output: binaryDefault, ...parameters } = readParameters(json.parameters, 'parameters');
  const binaryOutputDefault = readFlag(binaryDefault, 'parameters.binary_data_output') ?? false;

  if (!Array.isArray(json.inputs) || json.inputs.length === 0) {
    throw new WeftError(ErrorCode.BadRequest, 'inputs must be a non-empty array', { field: 'inputs' });
  }
  const binary = headerLength === undefined ? undefined : { body, offset: headerLength };
  const names = new Set<string>();
  const inputs = json.inputs.map((raw: unknown, i) => decodeInput(raw, `inputs[${i}]`, names, binary));
  if (binary !== undefined && binary.offset !== body.length) {
    throw sizeError(`${body.length - binary.offset} bytes are left over after the binary data of the inputs`, HEADER_FIELD);
  }

  const request: DecodedInferRequest = {
    parameters,
    inputs,
    outputs: decodeOutputs(json.outputs, binaryOutputDefault),
    binaryOutputDefault,
  };
  if (json.id !== undefined) request.id = json.id;
  return request;
}

interface BinaryCursor {
  body: Uint8Array;
  offset: number;
}

function decodeInput(raw: unknown, field: string, names: Set<string>, binary: BinaryCursor | undefined): DecodedInput {
  if (!isObject(raw)) throw new WeftError(ErrorCode.BadRequest, `${field} must be an object`, { field });
  const name = raw.name;
  if (typeof name !== 'string' || name === '') {
    throw new WeftError(ErrorCode.BadRequest, `${field} needs a non-empty string 'name'`, { field: `${field}.name` });
  }
  if (names.has(name)) {
    throw new WeftError(ErrorCode.BadRequest, `input '${name}' is given more than once`, { field: `${field}.name` });
  }
  names.add(name);

  const datatype = raw.datatype;
  if (!isDatatype(datatype)) {
    throw new WeftError(
      ErrorCode.InvalidDatatype,
      `input '${name}': unknown datatype ${JSON.stringify(datatype) ?? 'undefined'}; valid datatypes are ${Datatypes.join(', ')}`,
      { field: `${field}.datatype` },
    );
  }
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeftError(
      ErrorCode.InvalidShape,
      `input '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape) ?? 'undefined'}`,
      { field: `${field}.shape` },
    );
  }

  const { binary_data_size: binarySize, ...parameters } = readParameters(raw.parameters, `${field}.parameters`);
  let data: TensorData;
  if (binarySize !== undefined) {
    const sizeField = `${field}.parameters.binary_data_size`;
    if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0) {
      throw new WeftError(ErrorCode.BadRequest, `input '${name}': binary_data_size must be a non-negative integer`, { field: sizeField });
    }
    if (raw.data !== undefined) {
      throw new WeftError(ErrorCode.BadRequest, `input '${name}' has both data and binary_data_size; give one`, { field: `${field}.data` });
    }
    const bytes = takeBinary(binary, binarySize as number, name, sizeField);
    data = decodeBinary(bytes, datatype, shape, { input: name, field: sizeField });
  } else {
    if (!Array.isArray(raw.data)) {
      const problem = raw.data === undefined ? 'has no data: give data, or binary_data_size with binary data' : 'data must be an array';
      throw new WeftError(ErrorCode.BadRequest, `input '${name}' ${problem}`, { field: `${field}.data` });
    }
    const site = { input: name, field: `${field}.data` };
    const flat = Array.isArray(raw.data[0]) ? flattenNested(raw.data, shape, site) : raw.data;
    const expected = elementCount(shape);
    if (flat.length !== expected) {
      throw sizeError(`input '${name}': data has ${flat.length} elements but shape [${shape.join(',')}] needs ${expected}`, site.field);
    }
    data = fromJsonValues(datatype, flat, site);
  }
  return { name, tensor: { datatype, shape, data }, parameters };
}

/** Flattens nested arrays row-major, requiring the nesting to match `shape` level by level. */
function flattenNested(data: unknown[], shape: readonly number[], site: ElementSite): unknown[] {
  const flat: unknown[] = [];
  const where = `input '${site.input}': nested data does not match shape [${shape.join(',')}]`;
  const mismatch = (path: string, problem: string): WeftError => sizeError(`${where}: ${path} ${problem}`, site.field);
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw mismatch(path, `is an array but the shape has only ${shape.length} dimensions`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node)) throw mismatch(path, `is not an array but dimension ${depth} has size ${shape[depth]}`);
    if (node.length !== shape[depth]) throw mismatch(path, `has ${node.length} elements, expected ${shape[depth]}`);
    for (let k = 0; k < node.length; k++) walk(node[k], depth + 1, `${path}[${k}]`);
  };
  walk(data, 0, 'data');
  return flat;
}

function takeBinary(binary: BinaryCursor | undefined, size: number, name: string, field: string): Uint8Array {
  if (binary === undefined) {
    throw sizeError(
      `input '${name}' has binary_data_size ${size} but the request has no binary data (no ${HEADER_FIELD} header)`,
      field,
    );
  }
  const left = binary.body.length - binary.offset;
  if (size > left) {
    throw sizeError(`input '${name}' has binary_data_size ${size} but only ${left} bytes of binary data are left`, field);
  }
  const bytes = binary.body.subarray(binary.offset, binary.offset + size);
  binary.offset += size;
  return bytes;
}

/**
 * Reads raw little-endian elements (the byte order of every platform Node runs on here), checked
 * against the shape; the gRPC service reads raw_input_contents with it too.
 */
export function decodeBinary(bytes: Uint8Array, datatype: Datatype, shape: number[], site: ElementSite): TensorData {
  const count = elementCount(shape);
  const size = elementSize(datatype);
  if (size !== undefined && bytes.length !== count * size) {
    throw sizeError(
      `input '${site.input}': binary_data_size is ${bytes.length} bytes but shape [${shape.join(',')}] of ${datatype} needs ${count * size}`,
      site.field,
    );
  }
  if (datatype === 'BOOL') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) {
      const message = `input '${site.input}': BOOL element ${bad} is the byte ${bytes[bad]}; expected 0 or 1`;
      throw new WeftError(ErrorCode.InvalidTensor, message, { field: site.field });
    }
  }
  const data = dataFromBytes(bytes, datatype, (problem) => sizeError(`input '${site.input}': ${problem}`, site.field));
  if (data.length !== count) {
    throw sizeError(`input '${site.input}': binary data holds ${data.length} BYTES elements but the shape needs ${count}`, site.field);
  }
  return data;
}

function decodeOutputs(raw: unknown, binaryDefault: boolean): RequestedOutput[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new WeftError(ErrorCode.BadRequest, 'outputs must be an array', { field: 'outputs' });
  const names = new Set<string>();
  return raw.map((output: unknown, i) => {
    const field = `outputs[${i}]`;
    if (!isObject(output)) throw new WeftError(ErrorCode.BadRequest, `${field} must be an object`, { field });
    const name = output.name;
    if (typeof name !== 'string' || name === '') {
      throw new WeftError(ErrorCode.BadRequest, `${field} needs a non-empty string 'name'`, { field: `${field}.name` });
    }
    if (names.has(name)) {
      throw new WeftError(ErrorCode.BadRequest, `output '${name}' is asked for more than once`, { field: `${field}.name` });
    }
    names.add(name);
    const { binary_data: flag, ...parameters } = readParameters(output.parameters, `${field}.parameters`);
    return { name, binary: readFlag(flag, `${field}.parameters.binary_data`) ?? binaryDefault, parameters };
  });
}

function readParameters(raw: unknown, field: string): JsonObject {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new WeftError(ErrorCode.BadRequest, `${field} must be an object`, { field });
  return raw;
}

function readFlag(raw: unknown, field: string): boolean | undefined {
  if (raw === undefined || typeof raw === 'boolean') return raw;
  throw new WeftError(ErrorCode.BadRequest, `${field} must be true or false`, { field });
}

function sizeError(message: string, field: string): WeftError {
  return new WeftError(ErrorCode.DataSizeMismatch, message, { field });
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isDatatype(v: unknown): v is Datatype {
  return typeof v === 'string' && (Datatypes as readonly string[]).includes(v);
}
