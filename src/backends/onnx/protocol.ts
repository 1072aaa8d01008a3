// Messages between the node and its ONNX model workers.

import type { Device, ModelSignature, Tensor } from '../types.js';

export type ToModelWorker = { kind: 'run'; id: number; inputs: Record<string, Tensor>; outputs: readonly string[] } | { kind: 'dispose' };

export type FromModelWorker =
  /** `sessionBytes`: how much the process's RSS grew while the session opened. */
  | { kind: 'loaded'; signature: ModelSignature; device: Device; warning: string | undefined; sessionBytes: number }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, Tensor> }
  | { kind: 'failed'; id: number; message: string }
  /** The intra-op thread count the worker chose on real traffic, and why (thread-probe.ts). */
  | { kind: 'threads'; note: string };
