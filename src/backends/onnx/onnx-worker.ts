// A model worker: holds one ONNX Runtime session and runs it off the node's main thread, so that
// inference (synchronous in onnxruntime-node) never stalls HTTP handling or other models.

import { parentPort, workerData } from 'node:worker_threads';
import type { LoadOptions, Tensor } from '../types.js';
import { openSession, runSession } from './session.js';
import { warmUpRuntime } from './warm-up.js';
import type { FromModelWorker, ToModelWorker } from './protocol.js';

const port = parentPort!;
const { path, options } = workerData as { path: string; options: LoadOptions };

/** Output buffers move to the main thread instead of being copied. */
function transferables(outputs: Record<string, Tensor>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(outputs)) if (!Array.isArray(t.data)) buffers.add(t.data.buffer as ArrayBuffer);
  return [...buffers];
}

function send(message: FromModelWorker, transfer: ArrayBuffer[] = []): void {
  try {
    port.postMessage(message, transfer);
  } catch {
    port.postMessage(message); // a buffer that cannot be transferred is copied
  }
}

try {
  // The weights, graph and arenas ONNX Runtime allocates show as RSS growth while it opens; the
  // runtime's own start-up is paid first, so the first model loaded is not charged for it.
  await warmUpRuntime();
  const before = process.memoryUsage.rss();
  const { session, signature, device, warning } = await openSession(path, options);
  send({ kind: 'loaded', signature, device, warning, sessionBytes: Math.max(0, process.memoryUsage.rss() - before) });
  port.on('message', async (message: ToModelWorker) => {
    if (message.kind === 'dispose') {
      await session.release();
      port.close();
      return;
    }
    try {
      const outputs = await runSession(session, message.inputs, message.outputs);
      send({ kind: 'result', id: message.id, outputs }, transferables(outputs));
    } catch (err) {
      send({ kind: 'failed', id: message.id, message: (err as Error).message });
    }
  });
} catch (err) {
  send({ kind: 'load-failed', message: (err as Error).message });
}
