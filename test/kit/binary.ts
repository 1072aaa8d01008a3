// A client side of the KServe v2 binary tensor data extension, written from the spec and kept
// apart from the server's codec so the end-to-end tests check one against the other.

export interface BinaryInput {
  name: string;
  datatype: string;
  shape: number[];
  /** Raw little-endian element bytes. */
  bytes: Uint8Array;
}

function asBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Body and headers of an infer request whose inputs travel as binary data. */
export function binaryInferRequest(
  inputs: BinaryInput[],
  options: { outputs?: string[]; binaryOutput?: boolean; parameters?: Record<string, unknown> } = {},
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const header: Record<string, unknown> = {
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: i.bytes.byteLength } })),
    parameters: { ...options.parameters, ...(options.binaryOutput === false ? {} : { binary_data_output: true }) },
  };
  if (options.outputs) header.outputs = options.outputs.map((name) => ({ name, parameters: { binary_data: options.binaryOutput !== false } }));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = new Uint8Array(json.byteLength + inputs.reduce((n, i) => n + i.bytes.byteLength, 0));
  body.set(json, 0);
  let offset = json.byteLength;
  for (const i of inputs) {
    body.set(i.bytes, offset);
    offset += i.bytes.byteLength;
  }
  return {
    body,
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(json.byteLength) },
  };
}

export interface DecodedOutput {
  name: string;
  datatype: string;
  shape: number[];
  /** Present for binary outputs. */
  bytes?: Uint8Array;
  /** Present for JSON outputs. */
  data?: unknown[];
}

/** Splits a binary infer response into its JSON header and each output's bytes. */
export async function readBinaryResponse(res: Response): Promise<{ header: any; outputs: DecodedOutput[] }> {
  const body = new Uint8Array(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)));
  let offset = headerLength;
  const outputs: DecodedOutput[] = header.outputs.map((o: any) => {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) return o;
    const bytes = body.slice(offset, offset + size);
    offset += size;
    return { name: o.name, datatype: o.datatype, shape: o.shape, bytes };
  });
  if (offset !== body.byteLength) throw new Error(`response has ${body.byteLength - offset} bytes left over`);
  return { header, outputs };
}

export function float32Bytes(values: Float32Array): Uint8Array {
  return asBytes(values);
}

export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}
