// Checks a model call's tensors against the model's signature before it is queued: names,
// datatypes, shapes (with -1 as a dynamic dimension), element counts against the data, rows and
// the batch limit. The engine runs it for every caller; each failure names the field at fault.

import { ErrorCode, WeftError } from '../errors.js';
import { elementCount, type ModelSignature, type Tensor, type TensorSpec } from '../backends/index.js';

export interface ValidateOptions {
  /** The model's max_batch_size; 0 means the model does not batch and dim 0 is not limited. */
  maxBatchSize: number;
  /** Model name, for messages. */
  model: string;
}

/** Throws a WeftError for the first input that does not fit `signature`, or for a missing one. */
export function validateInputs(
  inputs: readonly { name: string; tensor: Tensor }[],
  signature: ModelSignature,
  options: ValidateOptions,
): void {
  const { model, maxBatchSize } = options;
  const specs = new Map(signature.inputs.map((spec) => [spec.name, spec]));
  const given = new Set<string>();
  inputs.forEach(({ name, tensor }, i) => {
    const field = `inputs[${i}]`;
    const spec = specs.get(name);
    if (spec === undefined) {
      throw new WeftError(
        ErrorCode.UnknownInput,
        `model '${model}' has no input '${name}'; its inputs are ${listNames(signature.inputs)}`,
        { field: `${field}.name` },
      );
    }
    if (given.has(name)) {
      throw new WeftError(ErrorCode.BadRequest, `input '${name}' is given more than once`, { field: `${field}.name` });
    }
    given.add(name);
    if (tensor.datatype !== spec.datatype) {
      throw new WeftError(
        ErrorCode.InvalidDatatype,
        `input '${name}' of model '${model}' must be ${spec.datatype}, got ${tensor.datatype}`,
        { field: `${field}.datatype` },
      );
    }
    if (!shapeFits(tensor.shape, spec.shape)) {
      throw new WeftError(
        ErrorCode.InvalidShape,
        `input '${name}' of model '${model}' has shape ${formatShape(tensor.shape)} but the model expects ` +
          `${formatShape(spec.shape)} (-1: any size)`,
        { field: `${field}.shape` },
      );
    }
    const batch = tensor.shape[0];
    if (maxBatchSize > 0 && batch !== undefined && batch > maxBatchSize) {
      throw new WeftError(
        ErrorCode.BatchTooLarge,
        `input '${name}' has batch size ${batch} but model '${model}' takes at most ${maxBatchSize} (max_batch_size)`,
        { field: `${field}.shape` },
      );
    }
  });
  const missing = signature.inputs.find((spec) => !given.has(spec.name));
  if (missing !== undefined) {
    throw new WeftError(
      ErrorCode.MissingInput,
      `model '${model}' needs input '${missing.name}' (${missing.datatype} ${formatShape(missing.shape)}), which the request lacks`,
      { field: 'inputs' },
    );
  }
}

/**
 * Everything a call must satisfy before it may share a batch with other callers' rows: the
 * signature (`validateInputs`, `validateOutputs`), then each tensor's data holding exactly the
 * elements its shape declares, at least one row, and every input agreeing on the row count.
 */
export function validateCall(
  inputs: Readonly<Record<string, Tensor>>,
  outputs: readonly string[],
  signature: ModelSignature,
  options: ValidateOptions,
): void {
  const list = Object.entries(inputs).map(([name, tensor]) => ({ name, tensor }));
  validateInputs(list, signature, options);
  validateOutputs(outputs, signature, options.model);
  let rows: number | undefined;
  list.forEach(({ name, tensor }, i) => {
    const field = `inputs[${i}]`;
    const needed = elementCount(tensor.shape);
    if (tensor.data.length !== needed) {
      throw new WeftError(
        ErrorCode.DataSizeMismatch,
        `input '${name}' of model '${options.model}' has shape ${formatShape(tensor.shape)} but ${tensor.data.length} elements; the shape needs ${needed}`,
        { field: `${field}.data` },
      );
    }
    if (tensor.shape.length === 0) return;
    if (tensor.shape[0] === 0) {
      throw new WeftError(ErrorCode.InvalidShape, `input '${name}' of model '${options.model}' has shape ${formatShape(tensor.shape)}: no rows; send at least one`, {
        field: `${field}.shape`,
      });
    }
    // An empty dimension elsewhere makes an empty tensor the runtime refuses with a 500 of its own.
    const empty = tensor.shape.indexOf(0);
    if (empty > 0) {
      throw new WeftError(ErrorCode.InvalidShape, `input '${name}' of model '${options.model}' has shape ${formatShape(tensor.shape)}: dimension ${empty} is 0, so the tensor holds nothing`, {
        field: `${field}.shape`,
      });
    }
    if (options.maxBatchSize > 0 && rows !== undefined && tensor.shape[0] !== rows) {
      throw new WeftError(ErrorCode.InvalidShape, `input '${name}' has ${tensor.shape[0]} rows but '${list[0]!.name}' has ${rows}; every input of a batch needs the same`, {
        field: `${field}.shape`,
      });
    }
    rows ??= tensor.shape[0];
  });
}

/** Inputs by name, refusing a name given twice (the call's tensors arrive as a list). */
export function tensorsByName(inputs: ReadonlyArray<{ name: string; tensor: Tensor }>): Record<string, Tensor> {
  // No prototype: an input named '__proto__' stays an input (and is refused as unknown).
  const out = Object.create(null) as Record<string, Tensor>;
  inputs.forEach(({ name, tensor }, i) => {
    if (Object.hasOwn(out, name)) throw new WeftError(ErrorCode.BadRequest, `input '${name}' is given more than once`, { field: `inputs[${i}].name` });
    out[name] = tensor;
  });
  return out;
}

/** Throws a WeftError for the first requested output name the model does not produce. */
export function validateOutputs(names: readonly string[], signature: ModelSignature, model: string): void {
  const known = new Set(signature.outputs.map((spec) => spec.name));
  const i = names.findIndex((name) => !known.has(name));
  if (i >= 0) {
    throw new WeftError(
      ErrorCode.UnknownOutput,
      `model '${model}' has no output '${names[i]}'; its outputs are ${listNames(signature.outputs)}`,
      { field: `outputs[${i}].name` },
    );
  }
}

function shapeFits(shape: readonly number[], declared: readonly number[]): boolean {
  return shape.length === declared.length && declared.every((d, k) => d === -1 || d === shape[k]);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function listNames(specs: readonly TensorSpec[]): string {
  return specs.length === 0 ? '(none)' : specs.map((spec) => `'${spec.name}'`).join(', ');
}
