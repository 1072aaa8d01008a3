// Engine: the models of a node, their lifecycle within a memory budget, their queues and batching.
export { ModelManager, ModelStates } from './model-manager.js';
export { DynamicBatchScheduler } from './scheduler.js';
export { resolveModels, scanRepository, embeddedModels, appModels } from './repository.js';
export { parseModelConfig } from './model-config.js';
export { validateInputs, validateOutputs } from './validate.js';
export type { ModelManagerOptions, ModelState, ModelVersionStatus, InferRequest, InferResult } from './model-manager.js';
export type { Scheduler, SchedulerOptions, Job, JobResult } from './scheduler.js';
export type { ModelDefinition } from './repository.js';
export type { ModelConfig, ModelConfigFile } from './model-config.js';
