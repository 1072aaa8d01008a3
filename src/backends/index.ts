// Backends: one interface, one implementation per model format.
export { Datatypes, Devices, elementCount } from './types.js';
export { OnnxBackend } from './onnx/index.js';
export { arrayTypeOf, dataFromBytes, dataToBytes, elementSize, isFixedDatatype, storageMatches } from './tensor-bytes.js';
export { ChatRoles, FinishReasons } from './llm-types.js';
export { LlamaBackend, LlamaLocalModel } from './llama/index.js';
export { RemoteModel, apiBase } from './remote/index.js';
export { languageModelMemory, openLanguageModel } from './language-models.js';
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
export type { FixedArrayConstructor, FixedData, FixedDatatype } from './tensor-bytes.js';
export type { ChatMessage, ChatRole, EmbedResult, FinishReason, GenerateEvent, GenerateInput, LlmModel, SamplingOptions } from './llm-types.js';
export type { LlamaBackendOptions, LlamaLoadOptions } from './llama/index.js';
export type { RemoteModelOptions, UpstreamState } from './remote/index.js';
export type { LanguageModelDeps, LanguageModelSpec } from './language-models.js';
