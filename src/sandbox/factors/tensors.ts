// Converts tensors between the WIT shape (datatype name, u32 shape, little-endian bytes) and the
// engine's typed arrays. `bytes` elements travel as a u32 length followed by the bytes.

import { Datatypes, dataFromBytes, dataToBytes, type Datatype, type Tensor } from '../../backends/index.js';
import { ErrorCode, WeftError } from '../../errors.js';

/** A tensor as the component sees it. */
export interface WitTensor {
  name: string;
  datatype: string;
  shape: ArrayLike<number>;
  data: Uint8Array;
}

export function witDatatype(d: Datatype): string {
  return d.toLowerCase();
}

function invalid(message: string): WeftError {
  return new WeftError(ErrorCode.InvalidTensor, message);
}

export function fromWit(t: WitTensor): Tensor {
  const datatype = t.datatype.toUpperCase() as Datatype;
  if (!(Datatypes as readonly string[]).includes(datatype)) throw invalid(`tensor '${t.name}': unknown datatype '${t.datatype}'`);
  const data = dataFromBytes(t.data, datatype, (problem) => invalid(`tensor '${t.name}': ${problem}`));
  return { datatype, shape: Array.from(t.shape), data };
}

export function toWit(name: string, t: Tensor): WitTensor {
  return { name, datatype: witDatatype(t.datatype), shape: Uint32Array.from(t.shape), data: dataToBytes(t.data) };
}
