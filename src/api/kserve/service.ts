// The transport-neutral half of the Open Inference Protocol: what server metadata, model
// metadata and the repository index answer, and how a model version is named. The HTTP routes
// (routes.ts) and the gRPC service (api/grpc/) both answer from here.

import { ErrorCode, WeftError } from '../../errors.js';
import type { Engine } from '../../engine/index.js';
import type { ModelMetadata, RepositoryIndexEntry } from './wire.js';

/** Protocol extensions this server supports, as ServerMetadata lists them. */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository'];

/** A model version as the protocol carries it (a decimal string); undefined or '' means the latest. */
export function parseVersion(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new WeftError(ErrorCode.BadRequest, `model version '${raw}' is not a non-negative integer`, { field: 'model_version' });
  return Number(raw);
}

export async function modelMetadata(engine: Pick<Engine, 'signature' | 'versions' | 'platform'>, name: string, version: number | undefined): Promise<ModelMetadata> {
  const { signature } = await engine.signature(name, version);
  return {
    name,
    versions: engine.versions(name).map(String),
    platform: engine.platform,
    inputs: signature.inputs,
    outputs: signature.outputs,
  };
}

/** The repository index over every model kind, ONNX and language models alike, by name and version. */
export function repositoryIndex(engine: Pick<Engine, 'status'>, readyOnly: boolean): RepositoryIndexEntry[] {
  return engine
    .status()
    .filter((s) => !readyOnly || s.state === 'ready')
    .map((s) => ({
      name: s.name,
      version: String(s.version),
      state: s.state === 'unloaded' ? 'UNAVAILABLE' : s.state.toUpperCase(),
      // A ready model says what its batcher (adaptive batching) and its backend's thread choice chose, and why.
      reason: s.state === 'unloaded' ? 'not loaded; loads on first request' : (s.reason ?? (s.state === 'ready' ? [s.batching, s.threads].filter((x) => x !== undefined).join('; ') : '')),
    }));
}
