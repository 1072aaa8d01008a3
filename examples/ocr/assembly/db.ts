// DB post-processing: text regions from the detector's probability map. Pixels above THRESH are
// grouped into 4-connected components; each component's bounding box is kept when its mean
// probability reaches BOX_THRESH, then grown by the DB "unclip" distance (area * ratio /
// perimeter). Boxes are axis-aligned: rotated text is read from its bounding box.

const THRESH: f32 = 0.3;
const BOX_THRESH: f32 = 0.6;
const UNCLIP_RATIO: f32 = 1.5;
const MIN_SIZE: f32 = 3;
const MAX_BOXES = 1000;

export class Box {
  constructor(public x0: f32, public y0: f32, public x1: f32, public y1: f32, public score: f32) {}
  get w(): f32 {
    return this.x1 - this.x0;
  }
  get h(): f32 {
    return this.y1 - this.y0;
  }
}

/** Boxes in map coordinates, top to bottom then left to right. */
export function findBoxes(prob: Float32Array, w: i32, h: i32): Box[] {
  const labels = new Int32Array(w * h);
  const stack = new Int32Array(w * h);
  const boxes: Box[] = [];
  let next = 0;
  for (let start = 0; start < w * h; start++) {
    if (unchecked(labels[start]) != 0 || unchecked(prob[start]) <= THRESH) continue;
    next++;
    let top = 0;
    unchecked(stack[top++] = start);
    unchecked(labels[start] = next);
    let minX = w, minY = h, maxX = 0, maxY = 0;
    let sum: f64 = 0;
    let count = 0;
    while (top > 0) {
      const p = unchecked(stack[--top]);
      const x = p % w;
      const y = p / w;
      sum += unchecked(prob[p]);
      count++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      if (x > 0 && unchecked(labels[p - 1]) == 0 && unchecked(prob[p - 1]) > THRESH) { unchecked(labels[p - 1] = next); unchecked(stack[top++] = p - 1); }
      if (x < w - 1 && unchecked(labels[p + 1]) == 0 && unchecked(prob[p + 1]) > THRESH) { unchecked(labels[p + 1] = next); unchecked(stack[top++] = p + 1); }
      if (y > 0 && unchecked(labels[p - w]) == 0 && unchecked(prob[p - w]) > THRESH) { unchecked(labels[p - w] = next); unchecked(stack[top++] = p - w); }
      if (y < h - 1 && unchecked(labels[p + w]) == 0 && unchecked(prob[p + w]) > THRESH) { unchecked(labels[p + w] = next); unchecked(stack[top++] = p + w); }
    }
    const bw = <f32>(maxX - minX + 1);
    const bh = <f32>(maxY - minY + 1);
    if (Mathf.min(bw, bh) < MIN_SIZE) continue;
    const score = <f32>(sum / count);
    if (score < BOX_THRESH) continue;
    const d = (bw * bh * UNCLIP_RATIO) / (2 * (bw + bh));
    const x0 = Mathf.max(0, <f32>minX - d);
    const y0 = Mathf.max(0, <f32>minY - d);
    const x1 = Mathf.min(<f32>w, <f32>maxX + 1 + d);
    const y1 = Mathf.min(<f32>h, <f32>maxY + 1 + d);
    if (Mathf.min(x1 - x0, y1 - y0) < MIN_SIZE + 2) continue;
    boxes.push(new Box(x0, y0, x1, y1, score));
    if (boxes.length >= MAX_BOXES) break;
  }
  // Reading order: by line (boxes whose tops are within 10 px share a line), then left to right.
  boxes.sort((a: Box, b: Box): i32 => {
    if (Mathf.abs(a.y0 - b.y0) >= 10) return a.y0 < b.y0 ? -1 : 1;
    return a.x0 < b.x0 ? -1 : a.x0 > b.x0 ? 1 : 0;
  });
  return boxes;
}
