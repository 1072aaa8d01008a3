// The baseline a user would write without a serving framework: fastify and onnxruntime-node, one
// POST route taking KServe-shaped JSON tensors, one session.run per request, no batching.
// Prints `plain server listening url=…` on stdout once it listens.
//
//   node --import tsx bench/plain-server.ts      (PLAIN_SERVER_MODEL=path.onnx picks another model)

import Fastify from 'fastify';
import ort from 'onnxruntime-node';
import { MODEL_PATH } from './model.js';

interface InferBody {
  inputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
}

const session = await ort.InferenceSession.create(process.env.PLAIN_SERVER_MODEL ?? MODEL_PATH);
const app = Fastify();

app.post<{ Body: InferBody }>('/infer', async (request) => {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of request.body.inputs) feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
  const results = await session.run(feeds);
  return {
    outputs: Object.entries(results).map(([name, tensor]) => ({
      name,
      datatype: 'FP32',
      shape: tensor.dims,
      data: Array.from(tensor.data as Float32Array),
    })),
  };
});

const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(`plain server listening url=${url}`);
