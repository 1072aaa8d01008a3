// Engine: the models of a node, their lifecycle within a memory budget, their queues and batching,
// behind one interface (`Engine`) that one service implements (`ModelService`).
export { ModelService } from './model-service.js';
export { ModelStates } from './model-manager.js';
export { DynamicBatchScheduler } from './scheduler.js';
export { resolveModels, scanRepository, appModels, ModelFormats } from './repository.js';
export { SlotQueue } from './slot-queue.js';
export { parseModelConfig } from './model-config.js';
export { tensorsByName, validateCall } from './validate.js';
export type { Engine, EngineCatalog, ModelStatus } from './engine.js';
export type { ModelServiceOptions } from './model-service.js';
export type { ModelState, InferRequest, InferResult } from './model-manager.js';
export type { Scheduler, SchedulerOptions, Job, JobResult } from './scheduler.js';
export type { ModelDefinition, ModelFormat } from './repository.js';
export type { LlmCallOptions, LlmModelInfo } from './llm-service.js';
export type { GenerationRecord, LlmModelStats, Timing } from './llm-stats.js';
export type { ModelConfig, ModelConfigFile } from './model-config.js';
export { FairQueue, NO_TENANT } from './admission.js';
export type { FairShare } from './admission.js';
