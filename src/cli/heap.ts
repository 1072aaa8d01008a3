// V8's heap, as a serving node needs it: how fast its limit grows, and the dead request and
// answer buffers V8 would leave uncollected once a burst of them is over.

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's heap growing factor for a serving node. A node serving tensors allocates array buffers
 * fast (request bodies, batch inputs, the copies its model workers get: ~100 MB/s at 800
 * ppocr-cls requests/s). With V8's own factor, once a mark-compact has left only the live heap
 * (~25 MB), the next limit sat just above it and that allocation rate set off a mark-compact
 * every ~50 ms (`node --trace-gc`: "external memory pressure"), for good: about 10 s into a
 * steady load, V8's GC threads took half a core from the model and the node served a third
 * fewer requests (Intel Xeon, 2 cores: 533-616 instead of 856-924 ppocr-cls requests/s, RSS ~20
 * MiB less; `node --import tsx bench/steady.ts` runs both). Growing the limit by 200% of the live
 * heap keeps it ahead. A --heap-growing-percent given to node itself wins.
 */
const HEAP_GROWING_PERCENT = 200;

export function tuneHeapGrowth(): void {
  if (process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent') || arg.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** How often external memory is looked at, and the least time between two collections it starts. */
const LOOK_EVERY_MS = 5_000;
/** External memory this far above what the last collection left, and not going down, is collected. */
const LINGERING_BYTES = 128 * 1024 * 1024;

/**
 * Request bodies and answers are external memory (array buffers), freed only by a full
 * collection, and V8 starts one for external memory only while more is being allocated. After a
 * flood of large ones stops, the dead buffers stay: twenty gRPC calls for 8 MB answers left 412 MB
 * of external memory after 2,000 small requests more, and a full collection (forced by a heap
 * snapshot) took it to 12 MB and RSS from 669 to 392 MiB (AMD EPYC, a scratch client). So every
 * LOOK_EVERY_MS: when external memory is LINGERING_BYTES above what the last collection left and
 * has not gone down since the last look, one full collection runs (tens of milliseconds for a
 * heap of this size). Under steady load V8's own collections keep it moving, and this stays idle.
 */
export function collectLingeringBuffers(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return;
  let floor = process.memoryUsage().external;
  let last = floor;
  const look = setInterval(() => {
    const external = process.memoryUsage().external;
    const lingering = external - floor > LINGERING_BYTES && external >= last;
    last = external;
    if (!lingering) return;
    gc();
    floor = last = process.memoryUsage().external;
  }, LOOK_EVERY_MS);
  look.unref();
}
