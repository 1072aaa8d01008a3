// The OpenAI-compatible frontend for language models and embeddings.
export { openAiRoutes } from './routes.js';
export { chatRequest, completionRequest, embeddingRequest, parseBody } from './wire.js';
export type { OpenAiRoutesOptions } from './routes.js';
export type { ChatRequest, CompletionRequest, EmbeddingRequest } from './wire.js';
