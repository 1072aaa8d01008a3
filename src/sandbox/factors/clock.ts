// weft:app/clock — a monotonic clock only; no wall clock is granted.

import type { Factor } from './types.js';

export const clockFactor: Factor = {
  interface: 'weft:app/clock',
  guest: () => ({ now: () => process.hrtime.bigint() }),
};
