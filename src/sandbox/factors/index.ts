// The host capabilities a component may import, one module each. A component importing any
// interface not listed here is refused at load.
import { clockFactor } from './clock.js';
import { configFactor } from './config.js';
import { imageFactor } from './image.js';
import { inferenceFactor } from './inference.js';
import { logFactor } from './log.js';
import type { Factor } from './types.js';

export const FACTORS: readonly Factor[] = [inferenceFactor, logFactor, clockFactor, configFactor, imageFactor];

export { witErr } from './types.js';
export { HandleTable } from './handles.js';
export type { Factor, GuestContext, HostContext, HostAnswer, Grants, NodeModels } from './types.js';
