// The worker thread behind json-offload.ts: decodes one KServe JSON body at a time and hands the
// tensors' buffers back without copying them.

import { parentPort } from 'node:worker_threads';
import { WeftError } from '../../errors.js';
import { decodeInferRequest } from './decode.js';

export interface DecodeJob {
  id: number;
  body: Uint8Array;
  maxJsonDepth: number;
}

parentPort!.on('message', ({ id, body, maxJsonDepth }: DecodeJob) => {
  try {
    const request = decodeInferRequest(body, undefined, maxJsonDepth);
    const buffers = new Set<ArrayBuffer>();
    for (const { tensor } of request.inputs) if (ArrayBuffer.isView(tensor.data)) buffers.add(tensor.data.buffer as ArrayBuffer);
    parentPort!.postMessage({ id, request }, [...buffers]);
  } catch (err) {
    const e = err instanceof WeftError ? err : undefined;
    parentPort!.postMessage({ id, error: { code: e?.code ?? 'INTERNAL', message: (err as Error).message, field: e?.field } });
  }
});
