// Writes small app folders (weft.json + real ONNX models) for the bundle tests: a tiny one, and
// one whose model carries a large initializer so a pull takes long enough to be killed halfway.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, encodeModel, type Graph } from './onnx-proto.js';

function floatInfo(name: string) {
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: 1 }] } } } };
}

/**
 * y = x + sum(weights): `weights` (at least 4 entries) are 0 but for 1, seed, -seed, 2, so every
 * model answers y = x + 3 exactly whatever its size, and apps with different seeds share no blob.
 */
function sumModel(floats: number, seed: number): Uint8Array {
  const weights = new Float32Array(Math.max(4, floats));
  weights[0] = 1;
  weights[1] = seed;
  weights[2] = -seed;
  weights[weights.length - 1] = 2;
  const graph: Graph = {
    name: 'sum',
    node: [
      { name: 'reduce', op_type: 'ReduceSum', input: ['w'], output: ['s'] },
      { name: 'add', op_type: 'Add', input: ['x', 's'], output: ['y'] },
    ],
    input: [floatInfo('x')],
    output: [floatInfo('y')],
    initializer: [{ name: 'w', data_type: DataType.FLOAT, dims: [floats], raw_data: new Uint8Array(weights.buffer) }],
  };
  return encodeModel({ ir_version: 8, opset_import: [{ domain: '', version: 13 }], producer_name: 'weft-test-kit', graph });
}

/** An app named `name` with one model (`<name>-sum` unless `model` names it; y = x + 3) of `floats` weights. */
export async function writeSumApp(
  dir: string,
  name: string,
  options: { floats?: number; seed?: number; version?: string; model?: string; serving?: Record<string, unknown> } = {},
): Promise<string> {
  await mkdir(join(dir, 'models'), { recursive: true });
  await writeFile(join(dir, 'models', 'sum.onnx'), sumModel(options.floats ?? 16, options.seed ?? 0));
  const manifest = {
    name,
    version: options.version ?? '1.0.0',
    models: [{ name: options.model ?? `${name}-sum`, file: 'models/sum.onnx', format: 'onnx', ...(options.serving ? { serving: options.serving } : {}) }],
  };
  await writeFile(join(dir, 'weft.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
