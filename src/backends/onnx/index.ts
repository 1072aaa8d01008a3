// ONNX Runtime backend.
export { OnnxBackend } from './onnx-backend.js';
export type { OnnxBackendOptions } from './onnx-backend.js';
