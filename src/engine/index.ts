// Engine: the models of a node, their lifecycle within a memory budget, their queues and batching.
export { ModelManager, ModelStates } from './model-manager.js';
export { DynamicBatchScheduler } from './scheduler.js';
export { resolveModels, scanRepository, appModels, ModelFormats } from './repository.js';
export { LlmService } from './llm-service.js';
export { SlotQueue } from './slot-queue.js';
export { parseModelConfig } from './model-config.js';
export { addModels, isTensorModel, removeModels, servesModel } from './engine.js';
export { tensorsByName, validateCall } from './validate.js';
export type { LanguageModels, ModelLifecycle, ModelServices, TensorModels } from './engine.js';
export type { ModelManagerOptions, ModelState, ModelVersionStatus, InferRequest, InferResult, Resident } from './model-manager.js';
export type { Scheduler, SchedulerOptions, Job, JobResult } from './scheduler.js';
export type { ModelDefinition, ModelFormat } from './repository.js';
export type { LlmCallOptions, LlmModelInfo, LlmServiceOptions } from './llm-service.js';
export type { GenerationRecord, LlmModelStats, Timing } from './llm-stats.js';
export type { ModelConfig, ModelConfigFile } from './model-config.js';
export { FairQueue, NO_TENANT } from './admission.js';
export type { FairShare } from './admission.js';
