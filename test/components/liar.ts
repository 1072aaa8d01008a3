// Liar: calls a model with a tensor whose declared shape disagrees with its data — shape
// [claim, width] carrying `send` rows of width float32 values — to prove the engine refuses it
// and never hands it other callers' rows. Query: ?model=NAME&claim=R&send=S. Answers
// "err:<code>:<message>" when the call is refused, "ok:<shape>:<values>" when it ran.
import { Request, Response, Tensor, run, serve, signature } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

function param(query: string, key: string, fallback: string): string {
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq > 0 && parts[i].substring(0, eq) == key) return parts[i].substring(eq + 1);
  }
  return fallback;
}

function handle(req: Request): Response {
  const model = param(req.query, 'model', 'affine');
  const claim = <u32>I32.parseInt(param(req.query, 'claim', '2'));
  const send = I32.parseInt(param(req.query, 'send', '1'));
  const sig = signature(model);
  if (!sig.ok) return Response.text(200, 'err:' + sig.errorCode.toString() + ':' + sig.error);
  const input = sig.signature.inputs[0];
  const width = <i32>input.shape[input.shape.length - 1];
  const values = new Float32Array(send * width);
  for (let i = 0; i < values.length; i++) {
    const v: i32 = 1000 + i;
    values[i] = <f32>v;
  }
  const out = run(model, [Tensor.f32(input.name, [claim, <u32>width], values)]);
  if (!out.ok) return Response.text(200, 'err:' + out.errorCode.toString() + ':' + out.error);
  const t = out.tensors[0];
  const f = t.asF32();
  let s = 'ok:' + t.shape.join('x') + ':';
  for (let i = 0; i < f.length; i++) s += (i > 0 ? ',' : '') + f[i].toString();
  return Response.text(200, s);
}

serve(handle);
