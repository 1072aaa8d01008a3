// An ONNX model's signature read from the file's protobuf, without a session: model metadata
// (KServe `GET /v2/models/NAME`) then needs no load. Only the graph's inputs, outputs and
// initializer names are read; the weights are skipped by offset, never read into memory.
// Field numbers are those of onnx.proto (ModelProto.graph = 7, GraphProto.initializer = 5,
// input = 11, output = 12, ...). The result matches what ONNX Runtime reports once loaded.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Datatype, ModelSignature, TensorSpec } from '../types.js';

/** TensorProto.DataType → KServe datatype (the ones Weft serves). */
const ELEM_TYPES: Record<number, Datatype> = {
  1: 'FP32',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'BYTES',
  9: 'BOOL',
  10: 'FP16',
  11: 'FP64',
  12: 'UINT32',
  13: 'UINT64',
};

/** Bytes at a position: a file read in place, or a buffer. */
type Source = (pos: number, len: number) => Uint8Array;

interface Field {
  field: number;
  wire: number;
  /** Varints (wire type 0). */
  value: number;
  /** Length-delimited values (wire type 2): where the bytes are. */
  start: number;
  end: number;
}

function* fields(read: Source, start: number, end: number): Generator<Field> {
  let pos = start;
  const varint = (): number => {
    const bytes = read(pos, Math.min(10, end - pos));
    let n = 0;
    for (let i = 0, scale = 1; i < bytes.length; i++, scale *= 128) {
      n += (bytes[i]! & 0x7f) * scale;
      if ((bytes[i]! & 0x80) === 0) {
        pos += i + 1;
        return n;
      }
    }
    throw new Error('truncated varint');
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      yield { field, wire, value: varint(), start: pos, end: pos };
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > end) throw new Error('a field runs past the end of its message');
      yield { field, wire, value: 0, start: pos, end: pos + len };
      pos += len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else {
      throw new Error(`wire type ${wire} is not protobuf as onnx.proto writes it`);
    }
  }
}

const text = (read: Source, f: Field) => new TextDecoder().decode(read(f.start, f.end - f.start));

function valueInfo(read: Source, start: number, end: number): { name: string; spec: () => TensorSpec } {
  let name = '';
  let type: Field | undefined;
  for (const f of fields(read, start, end)) {
    if (f.field === 1 && f.wire === 2) name = text(read, f);
    if (f.field === 2 && f.wire === 2) type = f;
  }
  return {
    name,
    spec: () => {
      // TypeProto.tensor_type = 1: TypeProto.Tensor { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 | dim_param = 2 } } }.
      const tensor = type && [...fields(read, type.start, type.end)].find((f) => f.field === 1 && f.wire === 2);
      if (tensor === undefined) throw new Error(`'${name}' is not a tensor; only tensor inputs and outputs are supported`);
      let datatype: Datatype | undefined;
      let elem = 0;
      const shape: number[] = [];
      for (const f of fields(read, tensor.start, tensor.end)) {
        if (f.field === 1 && f.wire === 0) datatype = ELEM_TYPES[(elem = f.value)];
        if (f.field === 2 && f.wire === 2) {
          for (const dim of fields(read, f.start, f.end)) {
            if (dim.field !== 1 || dim.wire !== 2) continue;
            const value = [...fields(read, dim.start, dim.end)].find((d) => d.field === 1 && d.wire === 0);
            // Unset (a dim_param) or negative (ten-byte varint) is dynamic, as ONNX Runtime reports it.
            shape.push(value === undefined || value.value > Number.MAX_SAFE_INTEGER ? -1 : value.value);
          }
        }
      }
      if (datatype === undefined) throw new Error(`'${name}' has element type ${elem}, which Weft does not serve`);
      return { name, datatype, shape };
    },
  };
}

/** Reads the signature of the ONNX model at `path`; throws when the file is no ONNX model. */
export function readOnnxSignature(path: string): ModelSignature {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read: Source = (pos, len) => {
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, pos);
      return buf.subarray(0, n);
    };
    let graph: Field | undefined;
    let irVersion = false;
    for (const f of fields(read, 0, size)) {
      if (f.field === 1 && f.wire === 0) irVersion = true;
      if (f.field === 7 && f.wire === 2) graph = f;
    }
    if (!irVersion || graph === undefined) throw new Error(`${path} is not an ONNX model (no ir_version or graph)`);
    const initializers = new Set<string>();
    const inputs: Array<ReturnType<typeof valueInfo>> = [];
    const outputs: Array<ReturnType<typeof valueInfo>> = [];
    for (const f of fields(read, graph.start, graph.end)) {
      if (f.wire !== 2) continue;
      if (f.field === 5) {
        // TensorProto.name = 8; its data fields are skipped without reading them.
        const name = [...fields(read, f.start, f.end)].find((t) => t.field === 8 && t.wire === 2);
        if (name) initializers.add(text(read, name));
      } else if (f.field === 11 || f.field === 12) {
        // A value info is small: read it once, parse it from memory.
        const bytes = read(f.start, f.end - f.start);
        const info = valueInfo((pos, len) => bytes.subarray(pos, pos + len), 0, bytes.length);
        (f.field === 11 ? inputs : outputs).push(info);
      }
    }
    // Graph inputs that are initializers have defaults: ONNX Runtime does not ask for them.
    return { inputs: inputs.filter((i) => !initializers.has(i.name)).map((i) => i.spec()), outputs: outputs.map((o) => o.spec()) };
  } finally {
    closeSync(fd);
  }
}
