// Remote language models: OpenAI-compatible upstream servers, balanced and health-checked.
export { RemoteModel } from './remote-model.js';
export { apiBase } from './upstream-pool.js';
export type { RemoteModelOptions } from './remote-model.js';
export type { UpstreamState } from './upstream-pool.js';
