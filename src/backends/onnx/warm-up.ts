// The runtime's own start-up, taken before a model's load is measured. The first session a process
// opens pages in ONNX Runtime's code and builds its environment: about 27 MB of RSS growth
// (measured: an Identity graph of 150 bytes grew RSS 27.4 MB as the process's first session, and
// 0.1-0.3 MB after it), which belongs to the runtime, not to the model that happened to load first.

import ort from 'onnxruntime-node';

/**
 * An ONNX graph of one Identity node, FP32 `[batch, 4]` in and out: the test kit's
 * `identity_fp32` model (test/kit/models.ts), 150 bytes.
 */
export const IDENTITY_MODEL = Buffer.from(
  'CAgSDXdlZnQtdGVzdC1raXQ6fQotCgZJTlBVVDASB09VVFBVVDAaEElkZW50aXR5X09VVFBVVDAiCElkZW50aXR5Eg1pZGVudGl0eV9mcDMyWh0KBklOUFVUMBITChEIARINCgcSBWJhdGNoCgIIBGIeCgdPVVRQVVQwEhMKEQgBEg0KBxIFYmF0Y2gKAggEQgQKABAN',
  'base64',
);

/** Opens and releases a session of the Identity graph, so that what the runtime costs once is paid before measuring. */
export async function warmUpRuntime(): Promise<void> {
  const session = await ort.InferenceSession.create(IDENTITY_MODEL);
  await session.release();
}
