// Slow: logs "started", works for ?ms=N milliseconds, then (with ?model=NAME) calls that model on
// one row of 1.0 values and answers with its first output: a request that is surely in flight
// while the test acts, and that still needs its model at the end.
import { Request, Response, Tensor, log, now, run, serve, signature } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

function param(query: string, key: string): string | null {
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq > 0 && parts[i].substring(0, eq) == key) return parts[i].substring(eq + 1);
  }
  return null;
}

function handle(req: Request): Response {
  const ms = param(req.query, 'ms');
  const until = now() + <u64>(ms === null ? 0 : I64.parseInt(ms!)) * 1_000_000;
  log.info('started ' + req.query);
  while (now() < until) {}
  const model = param(req.query, 'model');
  if (model === null) return Response.text(200, 'done');
  const sig = signature(model!);
  if (!sig.ok) return Response.error(4, sig.error);
  const input = sig.signature.inputs[0];
  const shape: u32[] = [];
  for (let i = 0; i < input.shape.length; i++) shape.push(input.shape[i] < 0 ? 1 : <u32>input.shape[i]);
  const values = new Float32Array(1);
  values[0] = 1;
  const out = run(model!, [Tensor.f32(input.name, shape, values)]);
  if (!out.ok) return Response.error(3, out.error);
  return Response.text(200, out.tensors[0].asF32()[0].toString());
}

serve(handle);
