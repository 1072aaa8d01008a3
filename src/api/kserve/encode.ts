// Encodes a model's outputs as a KServe v2 inference response: plain JSON, or, when any output
// is asked for in binary, a JSON header followed by the raw bytes of the binary outputs (the
// binary tensor data extension).

import { ErrorCode, WeftError } from '../../errors.js';
import { elementCount, type Tensor } from '../../backends/index.js';
import { dataToBytes, storageMatches } from '../../backends/index.js';
import { toJsonValues } from './datatypes.js';
import type { InferResponse, InferResponseOutput } from './wire.js';

export interface EncodableOutput {
  name: string;
  tensor: Tensor;
  /** Whether the output goes in the binary section rather than in JSON `data`. */
  binary: boolean;
}

export interface InferResult {
  modelName: string;
  /** Empty when the model has no version to report. */
  modelVersion: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: EncodableOutput[];
}

export interface EncodedResponse {
  /** A string for JSON; bytes when the binary section is present (backed by a plain ArrayBuffer). */
  body: Uint8Array<ArrayBuffer> | string;
  contentType: string;
  /** Byte length of the JSON header, for the Inference-Header-Content-Length header. */
  headerLength?: number;
}

const utf8 = new TextEncoder();

/**
 * Encodes a response. JSON `data` cannot hold NaN or ±Infinity, so those elements are written as
 * null (what JSON.stringify does with them); clients that need them should ask for binary output.
 */
export function encodeInferResponse(res: InferResult): EncodedResponse {
  const sections: Uint8Array[] = [];
  const outputs = res.outputs.map(({ name, tensor, binary }): InferResponseOutput => {
    checkStorage(name, tensor);
    const output: InferResponseOutput = { name, datatype: tensor.datatype, shape: tensor.shape };
    if (binary) {
      const bytes = dataToBytes(tensor.data);
      sections.push(bytes);
      output.parameters = { binary_data_size: bytes.length };
    } else {
      // Array.from + one JSON.stringify was the fastest way measured to write 265,000 FP32 values
      // (Node 20, x86-64: 28 ms, against 38 ms joining 4,096-value chunks and 70 ms appending to a
      // string in a loop); number-to-text conversion dominates all three.
      output.data = toJsonValues(tensor.datatype, tensor.data);
    }
    return output;
  });

  const response: InferResponse = { model_name: res.modelName, outputs };
  if (res.modelVersion !== '') response.model_version = res.modelVersion;
  if (res.id !== undefined) response.id = res.id;
  if (res.parameters !== undefined) response.parameters = res.parameters;
  const header = JSON.stringify(response);
  if (sections.length === 0) return { body: header, contentType: 'application/json' };

  return { ...withBinarySections(header, sections), contentType: 'application/octet-stream' };
}

/** A binary-extension body, request or response: the JSON header, then each section's bytes in order. */
export function withBinarySections(header: string, sections: readonly Uint8Array[]): { body: Uint8Array<ArrayBuffer>; headerLength: number } {
  const headerBytes = utf8.encode(header);
  const body = new Uint8Array(sections.reduce((n, s) => n + s.length, headerBytes.length));
  body.set(headerBytes, 0);
  let offset = headerBytes.length;
  for (const section of sections) {
    body.set(section, offset);
    offset += section.length;
  }
  return { body, headerLength: headerBytes.length };
}

// A backend handing over storage of the wrong kind or size is a bug; catching it here (and in the
// gRPC encoder) keeps garbage bytes off the wire.
export function checkStorage(name: string, tensor: Tensor): void {
  const expected = elementCount(tensor.shape);
  if (!storageMatches(tensor.datatype, tensor.data) || tensor.data.length !== expected) {
    throw new WeftError(
      ErrorCode.Internal,
      `output '${name}': the backend returned ${tensor.data.length} elements of ${tensor.data.constructor.name} ` +
        `for a ${tensor.datatype} tensor of shape [${tensor.shape.join(',')}] (${expected} elements)`,
    );
  }
}

