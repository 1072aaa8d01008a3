// Writes a Triton-style repository (<root>/<name>/<version>/model.onnx) of small, real ONNX models
// for the test suite, since no weights can be downloaded. Output is deterministic, so tests can
// compute every expected result from the constants exported here.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DataType,
  encodeModel,
  type Dimension,
  type Graph,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
} from './onnx-proto.js';

export interface TestModels {
  root: string;
  names: string[];
}

/** ONNX element type of each identity model, keyed by the KServe datatype in lowercase. */
const IDENTITY_ELEM_TYPES = {
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  uint16: DataType.UINT16,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  fp16: DataType.FLOAT16,
  fp32: DataType.FLOAT,
  fp64: DataType.DOUBLE,
  bytes: DataType.STRING,
} as const;
export type IdentityDatatype = keyof typeof IDENTITY_ELEM_TYPES;
/** Datatypes with an `identity_<datatype>` model. */
export const IDENTITY_DATATYPES = Object.keys(IDENTITY_ELEM_TYPES) as IdentityDatatype[];

/** affine: y = x·W + b, W is 4×3. Entries are exact in float32 so only b rounds. */
export const AFFINE_W: readonly (readonly number[])[] = [0, 1, 2, 3].map((i) =>
  [0, 1, 2].map((j) => (i + 1) * 0.5 - j * 0.25),
);
export const AFFINE_B: readonly number[] = [0.1, -0.2, 0.3];
/** Version 2 of affine differs only in its bias, so a test can tell which version answered. */
export const AFFINE_B_V2: readonly number[] = AFFINE_B.map((v) => v * 10);

/**
 * slow: y = x·M^SLOW_DEPTH with M = SLOW_SCALE·I — real work with a predictable result. The depth
 * is what makes one run take milliseconds: a 256-wide matmul costs only ~2 µs on a modern CPU.
 */
export const SLOW_WIDTH = 256;
export const SLOW_DEPTH = 2000;
export const SLOW_SCALE = 0.999;
// A batch of 4 rows runs at once; fewer wait up to 2 s for company, so a third queued request
// finds the queue (2) full whatever the timing of its arrival.
export const SLOW_CONFIG = { max_batch_size: 4, max_queue_size: 2, max_queue_delay_us: 2_000_000, instances: 1 } as const;

/** big_*: y = x + addend, with an addend tensor of BIG_N floats (~8 MB) to fill memory budgets. */
export const BIG_N = 2_000_000;
export const BIG_ADDENDS = { big_a: 1, big_b: 2, big_c: 3 } as const;

interface ModelSpec {
  name: string;
  /** Graph per version, version 1 first. */
  versions: Graph[];
  config?: object;
}

const BATCH: Dimension = { dim_param: 'batch' };

function dims(shape: (number | 'batch')[]): Dimension[] {
  return shape.map((d) => (d === 'batch' ? BATCH : { dim_value: d }));
}

function tensorInfo(name: string, elemType: DataType, shape: (number | 'batch')[]): ValueInfo {
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims(shape) } } } };
}

function op(opType: string, input: string[], output: string[]): Node {
  return { name: `${opType}_${output.join('_')}`, op_type: opType, input, output };
}

function floatTensor(name: string, shape: number[], values: Float32Array): Tensor {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, data_type: DataType.FLOAT, dims: shape, raw_data: raw };
}

function identity(datatype: IdentityDatatype): ModelSpec {
  const elemType = IDENTITY_ELEM_TYPES[datatype];
  const graph: Graph = {
    name: `identity_${datatype}`,
    node: [op('Identity', ['INPUT0'], ['OUTPUT0'])],
    input: [tensorInfo('INPUT0', elemType, ['batch', 4])],
    output: [tensorInfo('OUTPUT0', elemType, ['batch', 4])],
  };
  return { name: graph.name, versions: [graph] };
}

function affineGraph(bias: readonly number[]): Graph {
  return {
    name: 'affine',
    node: [op('MatMul', ['x', 'W'], ['xW']), op('Add', ['xW', 'b'], ['y'])],
    input: [tensorInfo('x', DataType.FLOAT, ['batch', 4])],
    output: [tensorInfo('y', DataType.FLOAT, ['batch', 3])],
    initializer: [
      floatTensor('W', [4, 3], Float32Array.from(AFFINE_W.flat())),
      floatTensor('b', [3], Float32Array.from(bias)),
    ],
  };
}

function affine(): ModelSpec {
  return { name: 'affine', versions: [affineGraph(AFFINE_B), affineGraph(AFFINE_B_V2)] };
}

function sumTwo(): ModelSpec {
  const int2 = (name: string): ValueInfo => tensorInfo(name, DataType.INT32, ['batch', 2]);
  const graph: Graph = {
    name: 'sum_two',
    node: [op('Add', ['a', 'b'], ['sum']), op('Sub', ['a', 'b'], ['diff'])],
    input: [int2('a'), int2('b')],
    output: [int2('sum'), int2('diff')],
  };
  return { name: 'sum_two', versions: [graph] };
}

function fixedShape(): ModelSpec {
  const graph: Graph = {
    name: 'fixed_shape',
    node: [op('Relu', ['x'], ['y'])],
    input: [tensorInfo('x', DataType.FLOAT, [1, 3])],
    output: [tensorInfo('y', DataType.FLOAT, [1, 3])],
  };
  return { name: 'fixed_shape', versions: [graph] };
}

function slow(): ModelSpec {
  const matrix = new Float32Array(SLOW_WIDTH * SLOW_WIDTH);
  for (let i = 0; i < SLOW_WIDTH; i++) matrix[i * SLOW_WIDTH + i] = SLOW_SCALE;
  // One shared initializer keeps the file small while every node still does a full matmul.
  const stage = (k: number): string => (k === 0 ? 'x' : k === SLOW_DEPTH ? 'y' : `h${k}`);
  const node = Array.from({ length: SLOW_DEPTH }, (_, k) => op('MatMul', [stage(k), 'M'], [stage(k + 1)]));
  const graph: Graph = {
    name: 'slow',
    node,
    input: [tensorInfo('x', DataType.FLOAT, ['batch', SLOW_WIDTH])],
    output: [tensorInfo('y', DataType.FLOAT, ['batch', SLOW_WIDTH])],
    initializer: [floatTensor('M', [SLOW_WIDTH, SLOW_WIDTH], matrix)],
  };
  return { name: 'slow', versions: [graph], config: SLOW_CONFIG };
}

function big(name: keyof typeof BIG_ADDENDS): ModelSpec {
  const graph: Graph = {
    name,
    node: [op('Add', ['x', 'addend'], ['y'])],
    input: [tensorInfo('x', DataType.FLOAT, ['batch', BIG_N])],
    output: [tensorInfo('y', DataType.FLOAT, ['batch', BIG_N])],
    initializer: [floatTensor('addend', [BIG_N], new Float32Array(BIG_N).fill(BIG_ADDENDS[name]))],
  };
  return { name, versions: [graph] };
}

function allSpecs(): ModelSpec[] {
  const bigNames = Object.keys(BIG_ADDENDS) as (keyof typeof BIG_ADDENDS)[];
  return [...IDENTITY_DATATYPES.map(identity), affine(), sumTwo(), fixedShape(), slow(), ...bigNames.map(big)];
}

function toModel(graph: Graph): Model {
  return { ir_version: 8, opset_import: [{ domain: '', version: 13 }], producer_name: 'weft-test-kit', graph };
}

async function writeSpec(root: string, spec: ModelSpec): Promise<void> {
  const dir = join(root, spec.name);
  await Promise.all(
    spec.versions.map(async (graph, i) => {
      const versionDir = join(dir, String(i + 1));
      await mkdir(versionDir, { recursive: true });
      await writeFile(join(versionDir, 'model.onnx'), encodeModel(toModel(graph)));
    }),
  );
  if (spec.config) await writeFile(join(dir, 'config.json'), `${JSON.stringify(spec.config, null, 2)}\n`);
}

/** Writes every test model under `dir` (created if missing, existing files overwritten). */
export async function writeTestModels(dir: string): Promise<TestModels> {
  const specs = allSpecs();
  await Promise.all(specs.map((spec) => writeSpec(dir, spec)));
  return { root: dir, names: specs.map((s) => s.name) };
}
