// What every protocol's workload is to the load generator (workloads.ts builds them, over HTTP;
// grpc-workload.ts over gRPC): the protocols, a request's outcome, the options a workload is
// built from, and a decoded KServe output.

import type { Pool } from 'undici';

export const Protocols = ['kserve-v2', 'kserve-grpc', 'openai', 'app'] as const;
export type Protocol = (typeof Protocols)[number];

export interface Outcome {
  ok: boolean;
  /** Failure kind: `http_<status>`, `timeout`, `connection` or `invalid_response`. */
  error?: string;
  /** What was wrong, in words (a response check's message). */
  detail?: string;
  /** Rows of the server-side batch this request ran in (Weft's `batch_size` parameter). */
  batchSize?: number;
  /** LLM: time to the first content token, ms. */
  ttftMs?: number;
  /** LLM: gaps between consecutive content chunks, ms. */
  interTokenMs?: number[];
  /** LLM: tokens generated. */
  outputTokens?: number;
}

export interface Workload {
  readonly description: string;
  send(pool: Pool, signal: AbortSignal): Promise<Outcome>;
  /** Closes what the workload opened besides the pool (a gRPC channel). */
  close?(): void;
}

export interface WorkloadOptions {
  protocol: Protocol;
  /** Model name (KServe, OpenAI) or app name (app). */
  model: string;
  /** A request body file: a KServe infer request JSON, an OpenAI request JSON or text prompt, or an app body. */
  input?: string;
  /** KServe inputs as NAME:DATATYPE:D1xD2… (random data); read from model metadata when omitted. */
  shapes: string[];
  /** KServe: send tensors with the binary data extension. */
  binary: boolean;
  /** OpenAI: stream tokens (measures time to first token and inter-token latency). */
  stream: boolean;
  /** OpenAI: max_tokens of each request. */
  maxTokens: number;
  /** Request path instead of the protocol's own, e.g. a plain server's `/infer`. */
  path?: string;
  /** kserve-grpc: host:port of the gRPC service. */
  grpcAddress?: string;
  /**
   * KServe: checks each successful response's outputs beyond the built-in check (every output
   * holds as many elements as its shape says); throws to count the response as `invalid_response`.
   */
  check?: (outputs: readonly ResponseOutput[]) => void;
}

/** One output tensor of a KServe response, decoded: FP32 as a Float32Array, other binary data as bytes. */
export interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: ArrayLike<number>;
}
