// POST four comma-separated numbers, get the class the model scores highest and every score.
// The model (models/linear.onnx: a linear layer and a softmax, 4 features to 3 classes) is
// granted in weft.json; replace it with your own and change the shapes below.
import { Request, Response, Tensor, ErrorKind, run, config, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

const FEATURES = 4;

function handle(req: Request): Response {
  const parts = String.UTF8.decode(req.body.buffer).trim().split(',');
  if (parts.length != FEATURES) return Response.error(ErrorKind.BadRequest, `send ${FEATURES} comma-separated numbers, got ${parts.length}`);
  const x = new Float32Array(FEATURES);
  for (let i = 0; i < FEATURES; i++) {
    const v = parseFloat(parts[i].trim());
    if (isNaN(v)) return Response.error(ErrorKind.BadRequest, `'${parts[i]}' is not a number`);
    x[i] = <f32>v;
  }
  const out = run(config('model')!, [Tensor.f32('features', [1, FEATURES], x)]);
  if (!out.ok) return Response.error(ErrorKind.Unavailable, out.error);
  const scores = out.tensors[0].asF32();
  let best = 0;
  let list = '';
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > scores[best]) best = i;
    list += (i > 0 ? ',' : '') + scores[i].toString();
  }
  return Response.json(200, `{"class":${best},"scores":[${list}]}`);
}

serve(handle);
