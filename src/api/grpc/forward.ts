// A ModelInfer call for a model another node of the fleet holds: it travels as the KServe v2
// binary request the fleet router forwards (every tensor raw, no JSON numbers), and the node's
// answer comes back as a ModelInfer response, or as the error it carries (its code and field),
// so a gRPC caller gets from any node what it gets from the one holding the model.

import { ErrorCode, WeftError, type ErrorCode as Code } from '../../errors.js';
import { dataToBytes, type Tensor } from '../../backends/index.js';
import { decodeBinary, isDatatype } from '../kserve/decode.js';
import { withBinarySections } from '../kserve/encode.js';
import type { InferRequest, InferResponse } from '../kserve/wire.js';
import { encodeModelInfer, type DecodedModelInfer } from './codec.js';
import type { ModelInferResponse } from './wire.js';

const utf8Decoder = new TextDecoder();

/** Headers of the call that cross to the serving node as they would over HTTP. */
export interface CallHeaders {
  authorization?: string | undefined;
  traceparent?: string | undefined;
  /** The caller header (tenant), by its configured name. */
  caller?: { name: string; value: string | undefined };
  /** Epoch ms the call's deadline ends, when it has one. */
  deadline?: number | undefined;
}

/** The call as `POST /v2/models/M[/versions/V]/infer` with a binary body, on a placeholder origin. */
export function inferRequestOverHttp(req: DecodedModelInfer, call: CallHeaders): Request {
  const sections = req.inputs.map(({ tensor }) => dataToBytes(tensor.data));
  const parameters: Record<string, unknown> = { binary_data_output: true };
  if (req.priority !== undefined) parameters.priority = req.priority;
  if (req.timeoutUs !== undefined) parameters.timeout = req.timeoutUs;
  const header: InferRequest = {
    ...(req.id === '' ? {} : { id: req.id }),
    parameters,
    inputs: req.inputs.map(({ name, tensor }, i) => ({ name, datatype: tensor.datatype, shape: tensor.shape, parameters: { binary_data_size: sections[i]!.length } })),
    ...(req.outputs.length === 0 ? {} : { outputs: req.outputs.map((name) => ({ name, parameters: { binary_data: true } })) }),
  };
  const json = JSON.stringify(header);
  // Assembled only when read: the router reads a body only to forward it, so a call it serves
  // here copies no tensor bytes.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(withBinarySections(json, sections).body);
      controller.close();
    },
  });
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(Buffer.byteLength(json)) };
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  if (call.traceparent !== undefined) headers.traceparent = call.traceparent;
  if (call.caller?.value !== undefined) headers[call.caller.name] = call.caller.value;
  if (call.deadline !== undefined) headers['x-weft-deadline'] = String(call.deadline);
  const path = `/v2/models/${encodeURIComponent(req.model)}${req.version === '' ? '' : `/versions/${encodeURIComponent(req.version)}`}/infer`;
  return new Request(`http://weft.grpc${path}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
}

/** The serving node's HTTP error answer as the WeftError it was there: code, field, Retry-After. */
function errorFromHttp(response: Response, body: Uint8Array): WeftError {
  const node = response.headers.get('x-weft-node') ?? 'another node';
  let error: { error?: unknown; code?: unknown; field?: unknown } = {};
  try {
    error = JSON.parse(utf8Decoder.decode(body)) as typeof error;
  } catch {
    // Not our error body: the status says what there is to say.
  }
  const code = typeof error.code === 'string' && Object.values(ErrorCode).includes(error.code as Code) ? (error.code as Code) : ErrorCode.UpstreamError;
  const retry = Number(response.headers.get('retry-after'));
  return new WeftError(code, typeof error.error === 'string' ? error.error : `${node} answered HTTP ${response.status}`, {
    ...(typeof error.field === 'string' ? { field: error.field } : {}),
    ...(retry > 0 ? { retryAfterSeconds: retry } : {}),
  });
}

/** A KServe metadata or readiness GET for a model another node serves (ModelMetadata, ModelReady). */
export function modelInfoRequestOverHttp(name: string, version: string, ready: boolean, authorization: string | undefined): Request {
  const path = `/v2/models/${encodeURIComponent(name)}${version === '' ? '' : `/versions/${encodeURIComponent(version)}`}${ready ? '/ready' : ''}`;
  return new Request(`http://weft.grpc${path}`, { method: 'GET', headers: authorization === undefined ? {} : { authorization } });
}

/** The serving node's metadata answer (the same JSON over both transports), or its error. */
export async function modelMetadataFromHttp(response: Response): Promise<object> {
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) throw errorFromHttp(response, body);
  return JSON.parse(utf8Decoder.decode(body)) as object;
}

/** The serving node's readiness answer: 200 ready, 503 not; anything else its error. */
export async function modelReadyFromHttp(response: Response): Promise<boolean> {
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200 || response.status === 503) return response.status === 200;
  throw errorFromHttp(response, body);
}

/** The serving node's HTTP answer as the ModelInfer response, or its error thrown as a WeftError. */
export async function modelInferFromHttp(response: Response, req: DecodedModelInfer): Promise<ModelInferResponse> {
  const body = new Uint8Array(await response.arrayBuffer());
  const node = response.headers.get('x-weft-node') ?? 'another node';
  if (response.status !== 200) throw errorFromHttp(response, body);
  const headerLength = Number(response.headers.get('inference-header-content-length') ?? body.length);
  const header = JSON.parse(utf8Decoder.decode(body.subarray(0, headerLength))) as InferResponse;
  let at = headerLength;
  const outputs: Array<[string, Tensor]> = header.outputs.map((o) => {
    const size = Number(o.parameters?.binary_data_size);
    if (!isDatatype(o.datatype) || !Number.isSafeInteger(size) || at + size > body.length) {
      throw new WeftError(ErrorCode.UpstreamError, `${node} answered output '${o.name}' without its binary data`);
    }
    const data = decodeBinary(body.subarray(at, at + size), o.datatype, o.shape, { input: o.name, field: `outputs.${o.name}` });
    at += size;
    return [o.name, { datatype: o.datatype, shape: o.shape, data }];
  });
  const parameters = header.parameters ?? {};
  return encodeModelInfer({
    model: header.model_name,
    version: header.model_version ?? '',
    id: header.id ?? req.id,
    batchSize: Number(parameters.batch_size ?? 1),
    batchRequests: Number(parameters.batch_requests ?? 1),
    outputs,
    raw: req.rawOutput,
  });
}
