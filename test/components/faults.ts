// Guest faults whose messages must reach the caller: /recurse recurses until the stack runs out,
// /abort fails an assertion (file and line in the message), /longabort aborts with a 100 000-character message.
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

const scratch = new Uint8Array(16);

function depth(n: i32): i32 {
  scratch[n & 15] = <u8>n;
  return depth(n + 1) + scratch[(n * 7) & 15];
}

function handle(req: Request): Response {
  if (req.path == '/recurse') return Response.text(200, depth(0).toString());
  if (req.path == '/abort') assert(req.body.length > 1000, 'the body is too short');
  if (req.path == '/longabort') assert(false, 'y'.repeat(100000));
  return Response.text(200, 'fine');
}

serve(handle);
