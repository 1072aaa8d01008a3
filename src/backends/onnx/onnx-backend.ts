// ONNX models on onnxruntime-node, each session in its own worker thread: onnxruntime-node runs
// a session synchronously on the calling thread, and on the main thread every inference would
// stall HTTP handling and every other model. A model loaded with N instances gets N workers,
// each with its own session, so N batches really run at once.

import { Worker } from 'node:worker_threads';
import type { Backend, Device, LoadedModel, LoadOptions, ModelSignature, Tensor } from '../types.js';
import { workerEntry } from '../../worker-entry.js';
import { readOnnxSignature } from './signature.js';
import type { FromModelWorker, ToModelWorker } from './protocol.js';

const WORKER = workerEntry(import.meta.url, 'onnx-worker');

interface Pending {
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (err: Error) => void;
}

/** One worker holding one session. */
class SessionWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private exited: Error | undefined;
  /** The worker's choice of intra-op threads, once it made one. */
  threads: string | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromModelWorker) => {
      if (message.kind === 'threads') this.threads = message.note;
      if (message.kind !== 'result' && message.kind !== 'failed') return;
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.kind === 'result') call?.resolve(message.outputs);
      else call?.reject(new Error(message.message));
    });
    const fail = (err: Error) => {
      this.exited = err;
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the model worker exited (code ${code})`)));
  }

  /** Starts a worker and waits until its session is open. */
  static start(path: string, options: LoadOptions): Promise<{ worker: SessionWorker; signature: ModelSignature; device: Device; warning: string | undefined; sessionBytes: number }> {
    const worker = new Worker(WORKER[0], { ...WORKER[1], workerData: { path, options } });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the model worker exited (code ${code}) while loading`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: FromModelWorker) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.kind === 'loaded') {
          resolve({ worker: new SessionWorker(worker), signature: message.signature, device: message.device, warning: message.warning, sessionBytes: message.sessionBytes });
        } else {
          void worker.terminate();
          reject(new Error(message.kind === 'load-failed' ? message.message : 'the model worker answered before loading'));
        }
      });
    });
  }

  get load(): number {
    return this.pending.size;
  }

  run(inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'run', id, inputs, outputs } satisfies ToModelWorker);
    });
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ kind: 'dispose' } satisfies ToModelWorker);
    await exited;
  }
}

class OnnxModel implements LoadedModel {
  constructor(
    private readonly workers: SessionWorker[],
    readonly signature: ModelSignature,
    readonly device: Device,
    readonly measuredBytes: number,
  ) {}

  get threads(): string | undefined {
    return this.workers[0]!.threads;
  }

  run(inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>> {
    const idlest = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    return idlest.run(inputs, outputs);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.dispose()));
  }
}

export interface OnnxBackendOptions {
  /** Where a CUDA fallback warning goes. */
  warn: (message: string) => void;
}

export class OnnxBackend implements Backend {
  readonly platform = 'onnxruntime_onnx';

  constructor(private readonly options: OnnxBackendOptions) {}

  describe(path: string): ModelSignature {
    return readOnnxSignature(path);
  }

  async load(path: string, options: LoadOptions): Promise<LoadedModel> {
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.instances) }, () => SessionWorker.start(path, options)));
    const failed = started.find((s) => s.status === 'rejected');
    const ready = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(ready.map((r) => r.worker.dispose()));
      throw (failed as PromiseRejectedResult).reason;
    }
    const first = ready[0]!;
    if (first.warning !== undefined) this.options.warn(first.warning);
    return new OnnxModel(
      ready.map((r) => r.worker),
      first.signature,
      first.device,
      ready.reduce((n, r) => n + r.sessionBytes, 0),
    );
  }
}
