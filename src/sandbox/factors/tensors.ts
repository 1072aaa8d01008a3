// Converts tensors between the WIT shape (datatype name, u32 shape, little-endian bytes) and the
// engine's typed arrays. `bytes` elements travel as a u32 length followed by the bytes.

import type { Datatype, Tensor, TensorData } from '../../backends/index.js';
import { ErrorCode, WeftError } from '../../errors.js';

/** A tensor as the component sees it. */
export interface WitTensor {
  name: string;
  datatype: string;
  shape: ArrayLike<number>;
  data: Uint8Array;
}

type ArrayCtor = { new (buffer: ArrayBuffer, offset: number, length: number): TensorData; BYTES_PER_ELEMENT: number };

const CTORS: Record<Exclude<Datatype, 'BYTES'>, ArrayCtor> = {
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
} as unknown as Record<Exclude<Datatype, 'BYTES'>, ArrayCtor>;

export function witDatatype(d: Datatype): string {
  return d.toLowerCase();
}

function invalid(message: string): WeftError {
  return new WeftError(ErrorCode.InvalidTensor, message);
}

export function fromWit(t: WitTensor): Tensor {
  const datatype = t.datatype.toUpperCase() as Datatype;
  const shape = Array.from(t.shape);
  if (datatype === 'BYTES') {
    const elements: Uint8Array[] = [];
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (let at = 0; at < t.data.byteLength; ) {
      if (at + 4 > t.data.byteLength) throw invalid(`tensor '${t.name}': truncated bytes element length`);
      const len = view.getUint32(at, true);
      if (at + 4 + len > t.data.byteLength) throw invalid(`tensor '${t.name}': bytes element overruns the data`);
      elements.push(t.data.slice(at + 4, at + 4 + len));
      at += 4 + len;
    }
    return { datatype, shape, data: elements };
  }
  const Ctor = CTORS[datatype];
  if (Ctor === undefined) throw invalid(`tensor '${t.name}': unknown datatype '${t.datatype}'`);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (t.data.byteLength % size !== 0) throw invalid(`tensor '${t.name}': ${t.data.byteLength} bytes is not a whole number of ${datatype} elements`);
  // Typed arrays need aligned offsets; copy when the bytes do not start on one.
  const bytes = t.data.byteOffset % size === 0 ? t.data : t.data.slice();
  return { datatype, shape, data: new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size) };
}

export function toWit(name: string, t: Tensor): WitTensor {
  let data: Uint8Array;
  if (t.datatype === 'BYTES') {
    const elements = t.data as Uint8Array[];
    data = new Uint8Array(elements.reduce((n, e) => n + 4 + e.byteLength, 0));
    const view = new DataView(data.buffer);
    let at = 0;
    for (const e of elements) {
      view.setUint32(at, e.byteLength, true);
      data.set(e, at + 4);
      at += 4 + e.byteLength;
    }
  } else {
    const typed = t.data as Exclude<TensorData, Uint8Array[]>;
    data = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  return { name, datatype: witDatatype(t.datatype), shape: Uint32Array.from(t.shape), data };
}
