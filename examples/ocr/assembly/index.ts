// OCR app: POST a PNG or JPEG, get JSON text lines with boxes and confidences. Runs the
// PaddleOCR pipeline: resize + normalise for ppocr-det, DB post-processing into boxes, crop +
// normalise each line for ppocr-rec (in batches), CTC decoding with the PP-OCR dictionary.
// Decoding the compressed image is the host's (weft:app/image): see docs/components.md.
import { Request, Response, Tensor, run, serve, signature, decodeImage, ErrorKind, ModelErrorCode } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';
import { DICT } from '../build/dict';
import { findBoxes, Box } from './db';
import { resampleNormalise } from './image';

// PaddleOCR's normalisation, applied to channels in its B, G, R order.
const DET_MEAN: StaticArray<f32> = [0.485, 0.456, 0.406];
const DET_STD: StaticArray<f32> = [0.229, 0.224, 0.225];
const REC_MEAN: StaticArray<f32> = [0.5, 0.5, 0.5];
const REC_STD: StaticArray<f32> = [0.5, 0.5, 0.5];
/** The detector sees the image with its longer side at most this many pixels. */
const LIMIT_SIDE: f32 = 960;
const REC_H = 48;
const REC_MIN_W = 320;
const REC_MAX_W = 3200;

let chars: string[] | null = null;
let recBatch = 0;

function dictionary(): string[] {
  if (chars === null) {
    const c = DICT.split('\n');
    c.push(' '); // the model's last class is the space
    chars = c;
  }
  return chars!;
}

function modelFailure(what: string, code: i32, message: string): Response {
  const kind = code == ModelErrorCode.Unavailable ? ErrorKind.Unavailable : ErrorKind.Internal;
  return Response.error(kind, what + ': ' + message);
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += '\\\\';
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

function fixed(v: f32, digits: i32): string {
  const scale = Mathf.pow(10, <f32>digits);
  return (Mathf.round(v * scale) / scale).toString();
}

class Line {
  constructor(public box: Box, public text: string, public confidence: f32) {}
}

/** Greedy CTC decoding of one row of [T, C] probabilities. */
function ctcDecode(probs: Float32Array, offset: i32, steps: i32, classes: i32): Line {
  const dict = dictionary();
  let text = '';
  let sum: f32 = 0;
  let n = 0;
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    let best = 0;
    let bestP: f32 = unchecked(probs[base]);
    for (let c = 1; c < classes; c++) {
      const p = unchecked(probs[base + c]);
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best != 0 && best != prev && best - 1 < dict.length) {
      text += dict[best - 1];
      sum += bestP;
      n++;
    }
    prev = best;
  }
  return new Line(new Box(0, 0, 0, 0, 0), text, n > 0 ? sum / <f32>n : 0);
}

function handle(req: Request): Response {
  if (req.body.length == 0) return Response.error(ErrorKind.BadRequest, 'POST the bytes of a PNG or JPEG image');
  const decoded = decodeImage(req.body);
  if (decoded.image === null) return Response.error(ErrorKind.Unprocessable, decoded.error);
  const img = decoded.image!;
  const W = <i32>img.width;
  const H = <i32>img.height;

  // Detection: longer side at most LIMIT_SIDE, both sides multiples of 32.
  const ratio: f32 = <f32>Math.max(W, H) > LIMIT_SIDE ? LIMIT_SIDE / <f32>Math.max(W, H) : 1;
  const dh = <i32>Mathf.max(32, Mathf.round((<f32>H * ratio) / 32) * 32);
  const dw = <i32>Mathf.max(32, Mathf.round((<f32>W * ratio) / 32) * 32);
  const detIn = new Float32Array(3 * dh * dw);
  resampleNormalise(img.rgb, W, H, 0, 0, <f32>W, <f32>H, detIn, 0, dw, dh, dw, dh, DET_MEAN, DET_STD);
  const det = run('ppocr-det', [Tensor.f32('x', [1, 3, <u32>dh, <u32>dw], detIn)]);
  if (!det.ok) return modelFailure('ppocr-det', det.errorCode, det.error);
  const boxes = findBoxes(det.tensors[0].asF32(), dw, dh);
  const sx = <f32>W / <f32>dw;
  const sy = <f32>H / <f32>dh;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    b.x0 *= sx; b.x1 *= sx; b.y0 *= sy; b.y1 *= sy;
  }

  // Recognition, as many lines per run as the model batches.
  if (recBatch == 0) {
    const sig = signature('ppocr-rec');
    if (!sig.ok) return modelFailure('ppocr-rec', sig.errorCode, sig.error);
    recBatch = sig.signature.maxBatchSize > 0 ? <i32>sig.signature.maxBatchSize : 1;
  }
  const lines: Line[] = [];
  for (let start = 0; start < boxes.length; start += recBatch) {
    const n = min(recBatch, boxes.length - start);
    let maxRatio: f32 = <f32>REC_MIN_W / <f32>REC_H;
    for (let i = 0; i < n; i++) maxRatio = Mathf.max(maxRatio, boxes[start + i].w / boxes[start + i].h);
    const recW = min(REC_MAX_W, <i32>Mathf.ceil(<f32>REC_H * maxRatio));
    const recIn = new Float32Array(n * 3 * REC_H * recW);
    for (let i = 0; i < n; i++) {
      const b = boxes[start + i];
      const w = min(recW, <i32>Mathf.ceil((<f32>REC_H * b.w) / b.h));
      resampleNormalise(img.rgb, W, H, b.x0, b.y0, b.w, b.h, recIn, i * 3 * REC_H * recW, recW, REC_H, w, REC_H, REC_MEAN, REC_STD);
    }
    const rec = run('ppocr-rec', [Tensor.f32('x', [<u32>n, 3, <u32>REC_H, <u32>recW], recIn)]);
    if (!rec.ok) return modelFailure('ppocr-rec', rec.errorCode, rec.error);
    const out = rec.tensors[0];
    const steps = <i32>out.shape[1];
    const classes = <i32>out.shape[2];
    const probs = out.asF32();
    for (let i = 0; i < n; i++) {
      const line = ctcDecode(probs, i * steps * classes, steps, classes);
      line.box = boxes[start + i];
      if (line.text.length > 0) lines.push(line);
    }
  }

  let json = '{"width":' + W.toString() + ',"height":' + H.toString() + ',"lines":[';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const b = l.box;
    json += (i > 0 ? ',' : '') + '{"text":' + jsonString(l.text) + ',"confidence":' + fixed(l.confidence, 4) + ',"box":[';
    json += '[' + fixed(b.x0, 1) + ',' + fixed(b.y0, 1) + '],[' + fixed(b.x1, 1) + ',' + fixed(b.y0, 1) + '],';
    json += '[' + fixed(b.x1, 1) + ',' + fixed(b.y1, 1) + '],[' + fixed(b.x0, 1) + ',' + fixed(b.y1, 1) + ']],"score":' + fixed(b.score, 4) + '}';
  }
  json += ']}';
  return Response.json(200, json);
}

serve(handle);
