// Pixel work for OCR: bilinear resampling of an RGB region straight into the normalised,
// channel-first float planes the PaddleOCR models take (BGR order, as PaddleOCR trains them).

/** Samples the region (x0, y0, w, h) of an RGB image into `out` at [c][y][x] for a
 *  dstW x dstH target placed in a plane of width `planeW` and height dstH; each channel c
 *  (B, G, R) becomes (v / 255 - mean[c]) / std[c]. */
export function resampleNormalise(
  rgb: Uint8Array, width: i32, height: i32,
  x0: f32, y0: f32, w: f32, h: f32,
  out: Float32Array, outOffset: i32, planeW: i32, planeH: i32, dstW: i32, dstH: i32,
  mean: StaticArray<f32>, std: StaticArray<f32>,
): void {
  const sx = w / <f32>dstW;
  const sy = h / <f32>dstH;
  const plane = planeW * planeH;
  for (let y = 0; y < dstH; y++) {
    let fy = y0 + (<f32>y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    if (fy > <f32>(height - 1)) fy = <f32>(height - 1);
    const iy = <i32>fy;
    const iy1 = iy + 1 < height ? iy + 1 : iy;
    const wy = fy - <f32>iy;
    for (let x = 0; x < dstW; x++) {
      let fx = x0 + (<f32>x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      if (fx > <f32>(width - 1)) fx = <f32>(width - 1);
      const ix = <i32>fx;
      const ix1 = ix + 1 < width ? ix + 1 : ix;
      const wx = fx - <f32>ix;
      const a = (iy * width + ix) * 3;
      const b = (iy * width + ix1) * 3;
      const c = (iy1 * width + ix) * 3;
      const d = (iy1 * width + ix1) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const src = 2 - ch; // B, G, R from R, G, B
        const top = <f32>unchecked(rgb[a + src]) * (1 - wx) + <f32>unchecked(rgb[b + src]) * wx;
        const bottom = <f32>unchecked(rgb[c + src]) * (1 - wx) + <f32>unchecked(rgb[d + src]) * wx;
        const v = top * (1 - wy) + bottom * wy;
        unchecked(out[outOffset + ch * plane + y * planeW + x] = (v / 255 - unchecked(mean[ch])) / unchecked(std[ch]));
      }
    }
  }
}
