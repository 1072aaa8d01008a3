// Tensor storage as raw bytes, the one layout every binary path uses (the KServe v2 binary
// extension, the component ABI): fixed-size elements little-endian, BYTES elements each a
// 4-byte little-endian length followed by that many bytes.

import type { Datatype, TensorData } from './types.js';

/** Datatypes whose elements all have the same byte size (all but BYTES). */
export type FixedDatatype = Exclude<Datatype, 'BYTES'>;
/** Storage of a fixed-size datatype: one typed array. */
export type FixedData = Exclude<TensorData, Uint8Array[]>;

/** The typed-array constructor behind a fixed-size datatype. */
export interface FixedArrayConstructor {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): FixedData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): FixedData;
}

const ARRAY_TYPES: Record<FixedDatatype, FixedArrayConstructor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

export function isFixedDatatype(datatype: Datatype): datatype is FixedDatatype {
  return datatype !== 'BYTES';
}

export function arrayTypeOf(datatype: FixedDatatype): FixedArrayConstructor {
  return ARRAY_TYPES[datatype];
}

/** Bytes per element; undefined for BYTES, whose elements each carry their own length. */
export function elementSize(datatype: Datatype): number | undefined {
  return isFixedDatatype(datatype) ? ARRAY_TYPES[datatype].BYTES_PER_ELEMENT : undefined;
}

/** Whether `data` is the storage `datatype` calls for (guards against a backend's mix-up). */
export function storageMatches(datatype: Datatype, data: TensorData): boolean {
  return isFixedDatatype(datatype) ? data instanceof ARRAY_TYPES[datatype] : Array.isArray(data);
}

/** The bytes of tensor data: a view for typed arrays, a new buffer for BYTES elements. */
export function dataToBytes(data: TensorData): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.reduce((n, element) => n + 4 + element.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of data) {
    view.setUint32(offset, element.length, true);
    out.set(element, offset + 4);
    offset += 4 + element.length;
  }
  return out;
}

/**
 * Tensor data from bytes: a view when the bytes sit on an element boundary (typed arrays need
 * aligned offsets), else a copy. `fail` turns a problem description into the caller's error.
 */
export function dataFromBytes(bytes: Uint8Array, datatype: Datatype, fail: (problem: string) => Error): TensorData {
  if (!isFixedDatatype(datatype)) return stringsFromBytes(bytes, fail);
  const ArrayType = ARRAY_TYPES[datatype];
  const size = ArrayType.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) throw fail(`${bytes.byteLength} bytes is not a whole number of ${datatype} elements`);
  const count = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new ArrayType(bytes.buffer, bytes.byteOffset, count);
  const copy = new ArrayType(count);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

function stringsFromBytes(bytes: Uint8Array, fail: (problem: string) => Error): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw fail(`BYTES element ${out.length} has a truncated length prefix (${bytes.length - offset} of 4 bytes)`);
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) throw fail(`BYTES element ${out.length} declares ${length} bytes but only ${bytes.length - offset} remain`);
    out.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}
