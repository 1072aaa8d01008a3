// Renders known text into PNG and JPEG images (sharp with an SVG text layer, DejaVu Sans from
// Debian's fonts-dejavu-core) for the OCR tests to read back.

import sharp from 'sharp';

export interface TextImage {
  png: Buffer;
  jpeg: Buffer;
}

/** One line of text per entry, black on white, in a width x height image. */
export async function renderText(lines: string[], width = 640, lineHeight = 70, fontSize = 40): Promise<TextImage> {
  const height = lineHeight * (lines.length + 1);
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const text = lines
    .map((l, i) => `<text x="30" y="${lineHeight * (i + 1)}" font-family="DejaVu Sans" font-size="${fontSize}" fill="black">${escape(l)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${text}</svg>`;
  const image = sharp(Buffer.from(svg));
  return { png: await image.clone().png().toBuffer(), jpeg: await image.clone().jpeg({ quality: 90 }).toBuffer() };
}
