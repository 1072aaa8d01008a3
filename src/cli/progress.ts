// Transfer progress for push, pull and pack: one updating line per blob on a terminal, nothing
// when stderr is not a TTY (logs and CI stay clean).

import type { Progress } from '../bundle/index.js';
import { quietProgress } from '../bundle/index.js';
import { formatBytes } from '../config/index.js';

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return quietProgress;
  return {
    start(label, total) {
      let done = 0;
      let last = 0;
      const started = Date.now();
      const draw = (note?: string) => {
        const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
        const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
        stream.write(`\r\x1b[K${label.slice(0, 40).padEnd(40)} ${note ?? `${formatBytes(done)} / ${formatBytes(total)} ${String(pct).padStart(3)}% ${formatBytes(rate)}/s`}`);
      };
      return {
        advance(bytes) {
          done += bytes;
          const now = Date.now();
          if (now - last >= 100) {
            last = now;
            draw();
          }
        },
        done(note) {
          draw(note ?? `${formatBytes(total)} done`);
          stream.write('\n');
        },
      };
    },
  };
}
