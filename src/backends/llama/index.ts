// Local language models: GGUF files on llama.cpp (node-llama-cpp).
export { LlamaBackend, LlamaLocalModel } from './llama-backend.js';
export type { LlamaBackendOptions, LlamaLoadOptions } from './llama-backend.js';
