// Writes the test suite's ONNX model repository to a folder, for poking at the models by hand
// (with `weft serve` or any ONNX tool). Usage: node --import tsx scripts/make-test-models.ts OUTDIR
import { resolve } from 'node:path';
import { writeTestModels } from '../test/kit/models.js';

const outDir = process.argv[2];
if (outDir === undefined) {
  console.error('usage: node --import tsx scripts/make-test-models.ts OUTDIR');
  process.exit(2);
}
const { root, names } = await writeTestModels(resolve(outDir));
console.log(`wrote ${names.length} models to ${root}:`);
for (const name of names) console.log(`  ${name}`);
