// The tensors a KServe workload sends, over REST or gRPC: input specs from --shape or from model
// metadata (the batch dimension as 1, as perf_analyzer does), and deterministic data for them.

import { ErrorCode, WeftError } from '../errors.js';

export const BYTES_PER: Record<string, number> = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8 };

export interface InputSpec {
  name: string;
  datatype: string;
  shape: number[];
}

export function parseShape(spec: string): InputSpec {
  const m = /^([^:]+):([A-Z0-9]+):(\d+(?:x\d+)*)$/.exec(spec);
  if (!m || BYTES_PER[m[2]!] === undefined) throw new WeftError(ErrorCode.BadRequest, `--shape '${spec}' is not NAME:DATATYPE:D1xD2… with a fixed-size datatype`, { field: 'shape' });
  return { name: m[1]!, datatype: m[2]!, shape: m[3]!.split('x').map(Number) };
}

/** The metadata's inputs with the batch dimension as 1; refused when another dimension is dynamic. */
export function batchOfOne(model: string, inputs: readonly InputSpec[]): InputSpec[] {
  const dynamic = inputs.filter((i) => i.shape.some((d, k) => d < 0 && k > 0));
  if (dynamic.length > 0) {
    const named = dynamic.map((i) => `'${i.name}' [${i.shape.join(',')}]`).join(', ');
    const example = inputs.map((i) => `--shape ${i.name}:${i.datatype}:${i.shape.map((d, k) => (d >= 0 ? d : k === 0 ? 1 : 'N')).join('x')}`).join(' ');
    throw new WeftError(ErrorCode.BadRequest, `model '${model}' has inputs with dynamic dimensions (-1) beyond the batch: ${named}. Say what to send: ${example} (N: the size you serve), or --input FILE`, { field: 'shape' });
  }
  return inputs.map((i) => ({ ...i, shape: i.shape.map((d) => (d < 0 ? 1 : d)) }));
}

/** Deterministic pseudo-random bytes of a plausible range for the datatype. */
export function tensorBytes(spec: InputSpec, seed: number): Uint8Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0 || 1;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
  if (spec.datatype === 'FP32') return new Uint8Array(Float32Array.from({ length: count }, () => next() * 2 - 1).buffer);
  if (spec.datatype === 'FP64') return new Uint8Array(Float64Array.from({ length: count }, () => next() * 2 - 1).buffer);
  return Uint8Array.from({ length: count * BYTES_PER[spec.datatype]! }, () => (spec.datatype === 'BOOL' ? Math.round(next()) : Math.floor(next() * 8)));
}
