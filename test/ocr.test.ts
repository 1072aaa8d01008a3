// End to end: `weft serve` with no flags serves the OCR example app at /apps/ocr; it reads back
// text rendered into PNG and JPEG images, batches the lines through ppocr-rec, and answers
// unreadable input with a clear error.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWeft, type WeftProcess } from './kit/weft-process.js';
import { renderText } from './kit/render.js';

interface OcrLine {
  text: string;
  confidence: number;
  box: number[][];
}

/** The Chinese PP-OCR model often drops spaces between Latin words: compare without them. */
const squash = (s: string) => s.replace(/\s+/g, '').toLowerCase();

describe('OCR app (embedded default)', () => {
  let weft: WeftProcess;
  before(async () => {
    weft = await startWeft([]);
  });
  after(async () => {
    await weft?.stop();
  });

  const ocr = async (body: Buffer) => {
    const res = await fetch(`${weft.url}/apps/ocr`, { method: 'POST', body: new Uint8Array(body) });
    return { status: res.status, body: (await res.json()) as { lines: OcrLine[]; width: number; code?: string; error?: string } };
  };

  it('reads rendered text back from PNG and JPEG, with boxes and confidences', async () => {
    const lines = ['Hello Weft 2026', 'inference at the edge', 'OCR 12345'];
    const image = await renderText(lines);
    for (const body of [image.png, image.jpeg]) {
      const res = await ocr(body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.lines.map((l) => squash(l.text)), lines.map(squash));
      for (const [i, line] of res.body.lines.entries()) {
        assert.ok(line.confidence > 0.8 && line.confidence <= 1, `confidence ${line.confidence}`);
        assert.equal(line.box.length, 4);
        const [[x0, y0], , [x1, y1]] = line.box as [[number, number], unknown, [number, number]];
        assert.ok(x0 < 60 && x1 > x0 + 100 && x1 <= 640, `box x ${x0}..${x1}`);
        // Line i is drawn with its baseline at 70 * (i + 1).
        assert.ok(y0 < 70 * (i + 1) && y1 > 70 * (i + 1) - 30, `line ${i} box y ${y0}..${y1}`);
      }
    }
  });

  it('reads more lines than one recognition batch holds', async () => {
    // Words, not digits: at this size DejaVu's "1" and "l" are one glyph apart.
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
    const lines = words.map((w) => `call sign ${w}`);
    const res = await ocr((await renderText(lines, 480, 50, 30)).png);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.lines.map((l) => squash(l.text)), lines.map(squash));
  });

  it('answers bytes that are not an image with 422 APP_UNPROCESSABLE, and GET with 405', async () => {
    const res = await ocr(Buffer.from('definitely not an image'));
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'APP_UNPROCESSABLE');
    assert.match(res.body.error!, /not a PNG or JPEG/);
    const get = await fetch(`${weft.url}/apps/ocr`);
    assert.equal(get.status, 405);
    // A PNG whose header claims 100000 x 100000 pixels is refused before anything is inflated.
    const bomb = (await renderText(['x'], 64, 20, 10)).png;
    bomb.writeUInt32BE(100_000, 16);
    bomb.writeUInt32BE(100_000, 20);
    const refused = await ocr(bomb);
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'APP_UNPROCESSABLE');
    const empty = await ocr(Buffer.alloc(0));
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'APP_BAD_REQUEST');
  });

  it('counts component instance starts, app errors and the component\'s model calls in /metrics', async () => {
    const metrics = await (await fetch(`${weft.url}/metrics`)).text();
    const starts = /^weft_component_instance_starts_total\{app="ocr"\} (\d+)$/m.exec(metrics);
    assert.ok(starts && Number(starts[1]) >= 1, 'no instance start counted for app ocr');
    assert.match(metrics, /^weft_errors_total\{code="APP_UNPROCESSABLE"\} [1-9]/m);
    // The component's own model calls report to its request: queue time per model it called.
    assert.match(metrics, /^weft_queue_time_seconds_count\{model="ppocr-det"\} [1-9]/m);
    assert.match(metrics, /^weft_queue_time_seconds_count\{model="ppocr-rec"\} [1-9]/m);
  });
});
