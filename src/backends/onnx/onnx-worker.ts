// A model worker: holds one ONNX Runtime session and runs it off the node's main thread, so that
// inference (synchronous in onnxruntime-node) never stalls HTTP handling or other models.

import { parentPort, workerData } from 'node:worker_threads';
import type { LoadOptions, Tensor } from '../types.js';
import { openSession, runSession } from './session.js';
import { probeThreads, PROBE_AFTER_RUNS, shouldProbe } from './thread-probe.js';
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
  const opened = await openSession(path, options);
  const sessionBytes = Math.max(0, process.memoryUsage.rss() - before);
  let { session } = opened;
  send({ kind: 'loaded', signature: opened.signature, device: opened.device, warning: opened.warning, sessionBytes });
  let probe = shouldProbe(options, opened.device, sessionBytes);
  let runs = 0;
  /** Times this session against a one-thread one on a real batch, and keeps the faster (thread-probe.ts). */
  const chooseThreads = async (inputs: Record<string, Tensor>, outputs: readonly string[]) => {
    probe = false;
    let alt: Awaited<ReturnType<typeof openSession>>['session'] | undefined;
    try {
      alt = (await openSession(path, { ...options, intraOpThreads: 1 })).session;
      const other = alt;
      const result = await probeThreads((i, o) => runSession(session, i, o), (i, o) => runSession(other, i, o), inputs, outputs);
      const drop = result.oneThread ? session : alt;
      if (result.oneThread) session = alt;
      alt = undefined;
      await drop.release();
      send({ kind: 'threads', note: result.note });
    } catch (err) {
      await alt?.release().catch(() => undefined);
      send({ kind: 'threads', note: `the runtime's default intra-op threads (comparing with one thread failed: ${(err as Error).message})` });
    }
  };
  // One message at a time: a probe never overlaps a run.
  let turn: Promise<void> = Promise.resolve();
  port.on('message', (message: ToModelWorker) => {
    turn = turn.then(async () => {
      if (message.kind === 'dispose') {
        await session.release().finally(() => port.close());
        return;
      }
      try {
        const outputs = await runSession(session, message.inputs, message.outputs);
        send({ kind: 'result', id: message.id, outputs }, transferables(outputs));
      } catch (err) {
        send({ kind: 'failed', id: message.id, message: (err as Error).message });
        return;
      }
      // The inputs are still ours: only outputs were transferred.
      if (probe && ++runs >= PROBE_AFTER_RUNS) await chooseThreads(message.inputs, message.outputs);
    }).catch(() => undefined); // a failed release: the next message still gets its turn
  });
} catch (err) {
  send({ kind: 'load-failed', message: (err as Error).message });
}
