// KServe v2 / Open Inference Protocol over HTTP: health, server and model metadata, inference
// (JSON and binary tensors) and the model repository extension.

import { Hono, type Context } from 'hono';
import { ErrorCode, WeftError } from '../../errors.js';
import { tensorsByName, type Engine } from '../../engine/index.js';
import { decodeInferBody } from './json-offload.js';
import { encodeInferResponse } from './encode.js';
import type { ModelMetadata, ServerMetadata } from './wire.js';
import { EXTENSIONS, modelMetadata, parseVersion, repositoryIndex } from './service.js';
import { jsonDepthOf, readBody, readJsonBody } from '../../http/index.js';
import { scopeOf } from '../telemetry-middleware.js';
import { refuseOtherMethods } from '../methods.js';

export interface KserveRoutesOptions {
  /** Every model kind: the repository extension lists, loads and unloads language models like tensor models. */
  engine: Engine;
  serverName: string;
  serverVersion: string;
  /** False while the node starts or drains. */
  isReady: () => boolean;
}

function headerLength(c: Context): number | undefined {
  const raw = c.req.header('inference-header-content-length');
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) {
    throw new WeftError(ErrorCode.BadRequest, `Inference-Header-Content-Length '${raw}' is not a byte count`, {
      field: 'Inference-Header-Content-Length',
    });
  }
  return Number(raw);
}

function optionalInteger(parameters: Record<string, unknown>, name: string): number | undefined {
  const value = parameters[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new WeftError(ErrorCode.BadRequest, `parameter '${name}' must be a non-negative integer`, { field: `parameters.${name}` });
  }
  return value;
}

export function kserveRoutes(options: KserveRoutesOptions): Hono {
  const { engine } = options;
  const app = new Hono();

  app.get('/v2', (c) => c.json<ServerMetadata>({ name: options.serverName, version: options.serverVersion, extensions: EXTENSIONS }));
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => {
    const ready = options.isReady();
    return c.json({ ready }, ready ? 200 : 503);
  });

  const metadata = async (c: Context) => c.json<ModelMetadata>(await modelMetadata(engine, c.req.param('name')!, parseVersion(c.req.param('version'))));
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const ready = (c: Context) => {
    const name = c.req.param('name')!;
    const { ready, reason } = engine.readiness(name, parseVersion(c.req.param('version')));
    // `reason` (ours, beside the protocol's fields) says why a model is not ready.
    return c.json({ name, ready, ...(!ready && reason !== undefined && { reason }) }, ready ? 200 : 503);
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (c: Context) => {
    const name = c.req.param('name')!;
    const version = parseVersion(c.req.param('version'));
    const scope = scopeOf(c);
    scope?.setOperation('infer', name);
    // Handed to the decoder (a large JSON body goes to its thread without a copy): not read after.
    const request = await decodeInferBody(await readBody(c), headerLength(c), jsonDepthOf(c));
    const timeoutUs = optionalInteger(request.parameters, 'timeout');
    const priority = optionalInteger(request.parameters, 'priority');
    const inputs = tensorsByName(request.inputs);
    const result = await engine.infer(name, version, {
      inputs,
      outputs: request.outputs.map((o) => o.name),
      priority,
      timeoutMs: timeoutUs === undefined || timeoutUs === 0 ? undefined : timeoutUs / 1000,
      signal: c.req.raw.signal,
      scope,
    });

    const requested = new Map(request.outputs.map((o) => [o.name, o.binary]));
    const encoded = encodeInferResponse({
      modelName: name,
      modelVersion: String(result.version),
      id: request.id,
      parameters: { batch_size: result.batchSize, batch_requests: result.batchRequests },
      outputs: Object.entries(result.outputs).map(([outputName, tensor]) => ({
        name: outputName,
        tensor,
        binary: requested.get(outputName) ?? request.binaryOutputDefault,
      })),
    });
    const headers: Record<string, string> = { 'Content-Type': encoded.contentType };
    if (encoded.headerLength !== undefined) headers['Inference-Header-Content-Length'] = String(encoded.headerLength);
    return c.body(encoded.body as string, 200, headers);
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);

  app.post('/v2/repository/index', async (c) => {
    // The protocol's body is optional: `{"ready": true}` lists only ready models.
    const parsed = await readJsonBody(c, { allowEmpty: true });
    const readyOnly = typeof parsed === 'object' && parsed !== null && (parsed as { ready?: unknown }).ready === true;
    return c.json(repositoryIndex(engine, readyOnly));
  });
  app.post('/v2/repository/models/:name/load', async (c) => {
    await engine.load(c.req.param('name'));
    return c.json({});
  });
  app.post('/v2/repository/models/:name/unload', async (c) => {
    await engine.unload(c.req.param('name'));
    return c.json({});
  });
  refuseOtherMethods(app);

  return app;
}
