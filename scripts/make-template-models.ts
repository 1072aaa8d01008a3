// Writes the tiny ONNX model the `assemblyscript` and `models-only` templates ship
// (templates/*/models/linear.onnx): a linear layer and a softmax, 4 features to 3 class scores,
// with fixed weights, so a new app answers with a real model run before any model is chosen.
// Usage: node --import tsx scripts/make-template-models.ts
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, encodeModel } from '../test/kit/onnx-proto.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const info = (name: string, width: number) => ({
  name,
  type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } },
});
// Class k scores feature k, plus a quarter of feature 3: the largest of the first three features wins.
const weights = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.25, 0.25, 0.25];
const model = encodeModel({
  ir_version: 8,
  opset_import: [{ domain: '', version: 13 }],
  producer_name: 'weft-templates',
  graph: {
    name: 'linear',
    node: [
      { name: 'matmul', op_type: 'MatMul', input: ['features', 'w'], output: ['xw'] },
      { name: 'bias', op_type: 'Add', input: ['xw', 'b'], output: ['logits'] },
      { name: 'softmax', op_type: 'Softmax', input: ['logits'], output: ['scores'] },
    ],
    input: [info('features', 4)],
    output: [info('scores', 3)],
    initializer: [
      { name: 'w', data_type: DataType.FLOAT, dims: [4, 3], raw_data: f32(weights) },
      { name: 'b', data_type: DataType.FLOAT, dims: [3], raw_data: f32([0, 0, 0]) },
    ],
  },
});
for (const template of ['assemblyscript', 'models-only']) {
  const path = join(ROOT, 'templates', template, 'models', 'linear.onnx');
  writeFileSync(path, model);
  console.log(`${path}: ${model.byteLength} bytes`);
}
