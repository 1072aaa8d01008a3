// weft:app/log — log lines attributed to the app, sent to the node's log without blocking.

import type { Factor } from './types.js';

export const logFactor: Factor = {
  interface: 'weft:app/log',
  guest: (ctx) => ({
    log: (level: string, message: string) => ctx.log(level, String(message).slice(0, 4096)),
  }),
};
