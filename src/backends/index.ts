// Backends: one interface, one implementation per model format.
export { Datatypes, Devices, elementCount } from './types.js';
export { OnnxBackend } from './onnx/index.js';
export type {
  Backend,
  Datatype,
  Device,
  LoadedModel,
  LoadOptions,
  ModelSignature,
  Tensor,
  TensorData,
  TensorSpec,
} from './types.js';
