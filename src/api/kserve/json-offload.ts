// Large KServe JSON bodies are decoded off the event loop. JSON.parse of a 60 MB body (15 M
// numbers) held the main thread for 2.1 s on a 2-core Xeon — a liveness probe sent meanwhile
// waited as long — before the request was refused for its size. In one worker thread it holds up
// only the requests with large bodies; smaller ones decode in place, where the hop would cost
// more than the parse.

import { Worker } from 'node:worker_threads';
import { ErrorCode, WeftError, type ErrorCode as Code } from '../../errors.js';
import { workerEntry } from '../../worker-entry.js';
import { decodeInferRequest, type DecodedInferRequest } from './decode.js';
import type { DecodeJob } from './json-decode-worker.js';

const WORKER = workerEntry(import.meta.url, 'json-decode-worker');

/** JSON bodies from this size on go to the worker (about 35 ms of JSON.parse on that Xeon). */
const OFFLOAD_BYTES = 1024 * 1024;

/**
 * An idle decoder thread is ended after this long: its heap, grown by the bodies it parsed, would
 * otherwise stay (three 60 MB bodies left the node at 437 MiB RSS, 10 s after, against 250 MiB
 * for one parsed on the main thread).
 */
const IDLE_MS = 5000;

type Answer = { id: number; request: DecodedInferRequest } | { id: number; error: { code: string; message: string; field?: string } };

type Job = { resolve: (r: DecodedInferRequest) => void; reject: (e: Error) => void };

/** The decoder thread and the bodies it holds. */
interface Decoder {
  worker: Worker;
  pending: Map<number, Job>;
  idle: NodeJS.Timeout | undefined;
}

let current: Decoder | undefined;
let nextId = 1;

function decoder(): Decoder {
  if (current !== undefined) {
    clearTimeout(current.idle);
    return current;
  }
  const d: Decoder = { worker: new Worker(WORKER[0], WORKER[1]), pending: new Map(), idle: undefined };
  // Only its jobs keep the process alive: the requests waiting on them do.
  d.worker.unref();
  const retire = () => {
    if (current === d) current = undefined;
  };
  d.worker.on('message', (m: Answer) => {
    const job = d.pending.get(m.id);
    if (job === undefined) return;
    d.pending.delete(m.id);
    if ('request' in m) job.resolve(m.request);
    else job.reject(new WeftError(m.error.code as Code, m.error.message, m.error.field === undefined ? {} : { field: m.error.field }));
    if (d.pending.size > 0) return;
    d.idle = setTimeout(() => {
      retire();
      void d.worker.terminate();
    }, IDLE_MS).unref();
  });
  // A thread that fails takes only the bodies it held; the next large body starts a new one.
  const failed = (why: string) => {
    retire();
    for (const job of d.pending.values()) job.reject(new WeftError(ErrorCode.Internal, `the JSON decoder thread ${why}`));
    d.pending.clear();
  };
  d.worker.on('error', (err) => failed(`failed: ${err.message}`));
  d.worker.on('exit', (code) => failed(`exited (${code})`));
  current = d;
  return d;
}

/**
 * `decodeInferRequest`, with a JSON body of OFFLOAD_BYTES or more decoded on the decoder thread
 * (its tensors come back without a copy); anything else is decoded here. A body that is a whole
 * buffer of its own goes to the thread without a copy too — the caller gives it up: it is
 * detached here — so a queue of large bodies waiting for the thread is not held twice (twelve
 * 60 MB bodies at once peaked at 1,774 MiB, 2,371 when copied: bench/MEMORY.md).
 */
export function decodeInferBody(body: Uint8Array, headerLength: number | undefined, maxJsonDepth: number): DecodedInferRequest | Promise<DecodedInferRequest> {
  if (headerLength !== undefined || body.length < OFFLOAD_BYTES) return decodeInferRequest(body, headerLength, maxJsonDepth);
  const id = nextId++;
  const d = decoder();
  return new Promise((resolve, reject) => {
    d.pending.set(id, { resolve, reject });
    const job: DecodeJob = { id, body, maxJsonDepth };
    const whole = body.buffer instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    d.worker.postMessage(job, whole ? [body.buffer as ArrayBuffer] : []);
  });
}
