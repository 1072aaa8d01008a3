// weft:app/image — PNG and JPEG decoding on the host, with sharp (libvips) on the main thread's
// libuv pool; the component's worker blocks on the bridge meanwhile. Why on the host and why
// sharp: see docs/components.md ("Image decoding"). Transparent pixels are composited over white,
// since text renders are often transparent PNGs.

import type { Factor, GuestContext } from './types.js';
import { witErr } from './types.js';

/** Images beyond this many pixels are refused before decoding (decompression bombs). */
export const MAX_PIXELS = 40_000_000;

/** Only these formats reach the decoder: a smaller attack surface than all libvips reads. */
function format(data: Uint8Array): 'png' | 'jpeg' | undefined {
  if (data.length >= 8 && data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return 'png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  return undefined;
}

export async function decodeImage(data: Uint8Array): Promise<{ width: number; height: number; pixels: Uint8Array }> {
  if (format(data) === undefined) throw new Error('not a PNG or JPEG image');
  // Loaded on first use, on the main thread only: component workers import this module too.
  const { default: sharp } = await import('sharp');
  const { data: pixels, info } = await sharp(data, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  // A copy that owns its buffer, so it can be handed to the worker without another.
  return { width: info.width, height: info.height, pixels: new Uint8Array(pixels) };
}

export const imageFactor: Factor = {
  interface: 'weft:app/image',
  guest: (ctx: GuestContext) => ({
    decode: (data: Uint8Array) => {
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
      return ctx.call('weft:app/image#decode', own, [own.buffer as ArrayBuffer]);
    },
  }),
  host: {
    decode: async (_ctx, data: Uint8Array) => {
      try {
        const image = await decodeImage(data);
        return { value: { tag: 'ok', val: image }, transfer: [image.pixels.buffer as ArrayBuffer] };
      } catch (err) {
        return { value: witErr(`cannot decode the image: ${(err as Error).message}`) };
      }
    },
  },
};
