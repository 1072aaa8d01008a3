// The KServe v2 workload over the protocol's gRPC transport: a ModelInfer with raw tensor bytes
// per request, through a client built from the same proto file the node serves. Inputs come from
// --shape or from the model's gRPC ModelMetadata; each answer's raw outputs are checked against
// their shapes, as the REST workload checks its own.

import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, PROTO_PATH } from '../api/grpc/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { BYTES_PER, batchOfOne, parseShape, tensorBytes, type InputSpec } from './tensors.js';
import type { Outcome, ResponseOutput, Workload, WorkloadOptions } from './workload.js';

interface WireTensor {
  name: string;
  datatype: string;
  shape: Array<string | number>;
}
interface InferReply {
  outputs: WireTensor[];
  raw_output_contents: Uint8Array[];
  parameters?: Record<string, { int64_param?: string }>;
}
type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type InferenceClient = grpc.Client & {
  ModelInfer(req: unknown, options: grpc.CallOptions, cb: Callback<InferReply>): grpc.ClientUnaryCall;
  ModelMetadata(req: unknown, cb: Callback<{ inputs: WireTensor[] }>): void;
};

/** A client of `inference.GRPCInferenceService` at `address` (host:port). */
export function inferenceClient(address: string): InferenceClient {
  const definition = loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => InferenceClient } };
  return new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
}

async function metadataInputs(client: InferenceClient, model: string): Promise<InputSpec[]> {
  const inputs = await new Promise<WireTensor[]>((resolve, reject) =>
    client.ModelMetadata({ name: model }, (err, res) => (err ? reject(new WeftError(ErrorCode.BadRequest, `gRPC model metadata for '${model}': ${err.details || err.message}`, { field: 'model' })) : resolve(res.inputs))),
  );
  return batchOfOne(model, inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(Number) })));
}

/** Sizes of every output against its shape; the decoded outputs for the caller's own check. */
function readOutputs(reply: InferReply): ResponseOutput[] {
  if (reply.raw_output_contents.length !== reply.outputs.length) throw new Error(`${reply.outputs.length} outputs but ${reply.raw_output_contents.length} raw contents`);
  return reply.outputs.map((out, i) => {
    const shape = out.shape.map(Number);
    const bytes = Buffer.from(reply.raw_output_contents[i]!);
    const width = BYTES_PER[out.datatype];
    const elements = shape.reduce((a, b) => a * b, 1);
    if (width !== undefined && bytes.byteLength !== elements * width) throw new Error(`output '${out.name}' [${shape.join(',')}] ${out.datatype} has ${bytes.byteLength} bytes, expected ${elements * width}`);
    const data = out.datatype === 'FP32' ? new Float32Array(new Uint8Array(bytes).buffer) : bytes;
    return { name: out.name, datatype: out.datatype, shape, data };
  });
}

export async function grpcWorkload(address: string, o: WorkloadOptions): Promise<Workload> {
  const client = inferenceClient(address);
  try {
    const specs = o.shapes.length > 0 ? o.shapes.map(parseShape) : await metadataInputs(client, o.model);
    const raw = specs.map((s, i) => Buffer.from(tensorBytes(s, i + 1)));
    const request = { model_name: o.model, inputs: specs.map((s) => ({ name: s.name, datatype: s.datatype, shape: s.shape })), raw_input_contents: raw };
    const bytes = raw.reduce((n, b) => n + b.byteLength, 0);
    return {
      description: `KServe v2 gRPC ModelInfer on '${o.model}' at ${address}, ${specs.map((s) => `${s.name} ${s.datatype}[${s.shape.join(',')}]`).join(' ')} (${bytes} tensor bytes per request)`,
      send(_pool, signal): Promise<Outcome> {
        return new Promise((resolve, reject) => {
          const call = client.ModelInfer(request, {}, (err, reply) => {
            signal.removeEventListener('abort', cancel);
            if (signal.aborted) return reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
            if (err) return resolve({ ok: false, error: `grpc_${grpc.status[err.code] ?? err.code}`, detail: err.details });
            try {
              const outputs = readOutputs(reply);
              o.check?.(outputs);
              const batch = reply.parameters?.batch_size?.int64_param;
              resolve({ ok: true, batchSize: batch === undefined ? undefined : Number(batch) });
            } catch (e) {
              resolve({ ok: false, error: 'invalid_response', detail: (e as Error).message });
            }
          });
          const cancel = () => call.cancel();
          signal.addEventListener('abort', cancel, { once: true });
        });
      },
      close: () => client.close(),
    };
  } catch (err) {
    client.close();
    throw err;
  }
}
