// Concatenates requests along dim 0 into one batch and splits a batch's outputs back, so that a
// batched run gives each request exactly what an unbatched run would.

import { elementCount, type Tensor, type TensorData } from '../backends/index.js';

type NumericData = Exclude<TensorData, Uint8Array[]>;

/**
 * Rows along dim 0 of a request. The engine's validateCall guarantees every input of a batched
 * call has the same dim 0 and exactly the data it declares, so this is the request's real rows.
 */
export function batchRows(inputs: Record<string, Tensor>): number {
  const first = Object.values(inputs)[0];
  return first?.shape[0] ?? 0;
}

/**
 * Requests batch together only when every input agrees on datatype and on every dim but the
 * first, and they ask for the same outputs.
 */
export function compatibilityKey(inputs: Record<string, Tensor>, outputs: readonly string[]): string {
  const parts = Object.keys(inputs)
    .sort()
    .map((name) => {
      const t = inputs[name]!;
      return `${name}:${t.datatype}:${t.shape.slice(1).join('x')}`;
    });
  return `${parts.join('|')}>${[...outputs].sort().join(',')}`;
}

function concatData(parts: TensorData[]): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as Uint8Array[][]).flat();
  let length = 0;
  for (const p of parts) length += p.length;
  const Ctor = first.constructor as new (n: number) => NumericData;
  const out = new Ctor(length);
  let offset = 0;
  for (const p of parts as NumericData[]) {
    (out as Float32Array).set(p as Float32Array, offset);
    offset += p.length;
  }
  return out;
}

export function concatInputs(requests: ReadonlyArray<Record<string, Tensor>>): Record<string, Tensor> {
  const first = requests[0]!;
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(first)) {
    const tensors = requests.map((r) => r[name]!);
    const rows = tensors.reduce((n, t) => n + t.shape[0]!, 0);
    out[name] = {
      datatype: tensors[0]!.datatype,
      shape: [rows, ...tensors[0]!.shape.slice(1)],
      data: concatData(tensors.map((t) => t.data)),
    };
  }
  return out;
}

/**
 * Splits batch outputs into per-request outputs by row counts. Returns undefined when an output
 * did not keep the batch dimension or its data does not fill exactly `total` rows, which means
 * the model cannot be batched this way: no request may ever get a slice of another's rows.
 */
export function splitOutputs(outputs: Record<string, Tensor>, rowCounts: readonly number[]): Record<string, Tensor>[] | undefined {
  const total = rowCounts.reduce((a, b) => a + b, 0);
  const results: Record<string, Tensor>[] = rowCounts.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (total === 0 || tensor.shape[0] !== total || tensor.data.length !== elementCount(tensor.shape)) return undefined;
    const rowSize = tensor.data.length / total;
    let row = 0;
    rowCounts.forEach((rows, i) => {
      const start = row * rowSize;
      const end = (row + rows) * rowSize;
      const data = Array.isArray(tensor.data) ? tensor.data.slice(start, end) : (tensor.data as NumericData).subarray(start, end);
      results[i]![name] = { datatype: tensor.datatype, shape: [rows, ...tensor.shape.slice(1)], data };
      row += rows;
    });
  }
  return results;
}
