// Checks a request's tensors against the model's signature before it is queued: names,
// datatypes, shapes (with -1 as a dynamic dimension) and the batch limit. Each failure names the
// request field at fault and says what the model expects.

import { ErrorCode, WeftError } from '../errors.js';
import type { ModelSignature, Tensor, TensorSpec } from '../backends/index.js';

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
