// The transport-neutral half of the Open Inference Protocol: what server metadata, model
// metadata and the repository index answer, and how a model version is named. The HTTP routes
// (routes.ts) and the gRPC service (api/grpc/) both answer from here.

import { ErrorCode, WeftError } from '../../errors.js';
import type { LanguageModels, ModelState, TensorModels } from '../../engine/index.js';
import type { ModelMetadata, RepositoryIndexEntry } from './wire.js';

/** Protocol extensions this server supports, as ServerMetadata lists them. */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository'];

/** A model version as the protocol carries it (a decimal string); undefined or '' means the latest. */
export function parseVersion(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new WeftError(ErrorCode.BadRequest, `model version '${raw}' is not a non-negative integer`, { field: 'model_version' });
  return Number(raw);
}

export async function modelMetadata(manager: TensorModels, name: string, version: number | undefined): Promise<ModelMetadata> {
  const { signature } = await manager.signature(name, version);
  return {
    name,
    versions: manager.versions(name).map(String),
    platform: manager.platform,
    inputs: signature.inputs,
    outputs: signature.outputs,
  };
}

/** The repository index over every model kind, ONNX and language models alike, by name and version. */
export function repositoryIndex(models: TensorModels, llm: LanguageModels | undefined, readyOnly: boolean): RepositoryIndexEntry[] {
  const all: Array<{ name: string; version: number; state: ModelState; reason: string | undefined; batching?: string }> = [...models.status(), ...(llm?.list() ?? [])];
  return all
    .sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version)
    .filter((s) => !readyOnly || s.state === 'ready')
    .map((s) => ({
      name: s.name,
      version: String(s.version),
      state: s.state === 'unloaded' ? 'UNAVAILABLE' : s.state.toUpperCase(),
      // A ready model with adaptive batching says what its batcher chose, and why.
      reason: s.state === 'unloaded' ? 'not loaded; loads on first request' : (s.reason ?? (s.state === 'ready' ? (s.batching ?? '') : '')),
    }));
}

/** The service that serves `name` (names are unique across both): where load and unload go. */
export function ownerOf(models: TensorModels, llm: LanguageModels | undefined, name: string): TensorModels | LanguageModels {
  return llm?.has(name) ? llm : models;
}
