// An engine over real backends for tests that need one without a whole node: the one model
// service, with ONNX Runtime and llama.cpp behind it and a budget large enough not to matter.

import { LlamaBackend, OnnxBackend } from '../../src/backends/index.js';
import { ModelService, type ModelDefinition } from '../../src/engine/index.js';
import type { Logger } from '../../src/telemetry/index.js';

export function testEngine(log: Logger, options: { definitions?: readonly ModelDefinition[]; cpuBudget?: number; cudaBudget?: number } = {}): ModelService {
  return new ModelService(options.definitions ?? [], {
    tensorBackend: new OnnxBackend({ warn: () => undefined }),
    llamaBackend: new LlamaBackend({ warn: () => undefined }),
    memoryBudget: { cpu: options.cpuBudget ?? 2 ** 30, cuda: options.cudaBudget ?? 2 ** 30 },
    log,
    healthIntervalMs: 1000,
    retryMs: 1000,
  });
}
