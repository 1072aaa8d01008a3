// weft:app/config — the values weft.json grants under component.grants.config, nothing else
// (no environment variables).

import type { Factor } from './types.js';

export const configFactor: Factor = {
  interface: 'weft:app/config',
  guest: (ctx) => ({
    get: (key: string) => (Object.hasOwn(ctx.grants.config, key) ? ctx.grants.config[key] : undefined),
  }),
};
