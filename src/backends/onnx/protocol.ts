// Messages between the node and its ONNX model workers.

import type { Device, ModelSignature, Tensor } from '../types.js';

export type ToModelWorker = { kind: 'run'; id: number; inputs: Record<string, Tensor>; outputs: readonly string[] } | { kind: 'dispose' };

export type FromModelWorker =
  | { kind: 'loaded'; signature: ModelSignature; device: Device; warning: string | undefined }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, Tensor> }
  | { kind: 'failed'; id: number; message: string };
