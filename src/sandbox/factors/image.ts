// weft:app/image — PNG and JPEG decoding on the host, inside the worker (synchronous, pure JS).
// Why on the host: see docs/components.md ("Image decoding"). Transparent pixels are composited
// over white, since text renders are often transparent PNGs.

import { createRequire } from 'node:module';
import type { Factor } from './types.js';
import { witErr } from './types.js';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof import('pngjs');
const jpeg = require('jpeg-js') as typeof import('jpeg-js');

/** Decoded images beyond this many pixels are refused (decompression bombs). */
export const MAX_PIXELS = 40_000_000;

function toRgb(rgba: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgba[i * 4 + c]! * a + 255 * (1 - a));
  }
  return out;
}

export function decodeImage(data: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) {
    // The IHDR size is checked before inflating anything.
    const width = buf.readUInt32BE(16);
    const height = buf.readUInt32BE(20);
    if (width * height > MAX_PIXELS) throw new Error(`image of ${width}x${height} exceeds ${MAX_PIXELS} pixels`);
    const png = PNG.sync.read(buf);
    return { width: png.width, height: png.height, pixels: toRgb(png.data, png.width * png.height) };
  }
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, pixels: toRgb(img.data, img.width * img.height) };
  }
  throw new Error('not a PNG or JPEG image');
}

export const imageFactor: Factor = {
  interface: 'weft:app/image',
  guest: () => ({
    decode: (data: Uint8Array) => {
      try {
        return decodeImage(data);
      } catch (err) {
        return witErr(`cannot decode the image: ${(err as Error).message}`);
      }
    },
  }),
};
