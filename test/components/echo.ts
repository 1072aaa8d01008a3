// Echo: answers with the method, path, query and body it got (and the names of the headers), and calls the model named in the
// query (?model=NAME, ?repeat=N times) on one row of float32 values 1, 2, 3, ...
import { Request, Response, Tensor, Header, run, serve, models, signature, config, log, now } from 'weft/sdk/assemblyscript';
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
  const model = param(req.query, 'model');
  if (model === null) {
    const t0 = now();
    const cfg = config('greeting');
    log.info('echo ' + req.path);
    const r = Response.text(200, req.method + ' ' + req.path + ' ' + req.query + ' ' + String.UTF8.decode(req.body.buffer) + (cfg === null ? '' : ' ' + cfg!));
    r.headers.push(new Header('x-models', models().join(',')));
    r.headers.push(new Header('x-elapsed-ok', now() >= t0 ? 'yes' : 'no'));
    const names: string[] = [];
    for (let i = 0; i < req.headers.length; i++) names.push(req.headers[i].name);
    r.headers.push(new Header('x-request-headers', names.join(',')));
    return r;
  }
  const sig = signature(model!);
  if (!sig.ok) return Response.error(4, sig.error);
  // One row of the model's first input: dynamic dimensions become 1, values count up from 1.
  const input = sig.signature.inputs[0];
  const shape: u32[] = [];
  let count = 1;
  for (let i = 0; i < input.shape.length; i++) {
    const d = input.shape[i] < 0 ? 1 : <u32>input.shape[i];
    shape.push(d);
    count *= d;
  }
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = <f32>(i + 1);
  const repeat = param(req.query, 'repeat');
  const times = repeat === null ? 1 : I32.parseInt(repeat!);
  let out = run(model!, [Tensor.f32(input.name, shape, values)]);
  for (let i = 1; i < times; i++) out = run(model!, [Tensor.f32(input.name, shape, values)]);
  if (!out.ok) return Response.error(3, out.error);
  const t = out.tensors[0];
  const f = t.asF32();
  let s = t.name + ':';
  for (let i = 0; i < f.length; i++) s += (i > 0 ? ',' : '') + f[i].toString();
  return Response.text(200, s);
}

serve(handle);
