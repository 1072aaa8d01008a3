// Imports wasi:filesystem (declared by the test's extra WIT): must be refused at load.
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

@external("wasi:filesystem/preopens@0.2.0", "get-directories")
declare function getDirectories(ret: usize): void;

const RET = memory.data(8);

serve((req: Request): Response => {
  getDirectories(RET);
  return Response.text(200, load<u32>(RET, 4).toString());
});
