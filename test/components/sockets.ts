// Imports wasi:sockets (declared by the test's extra WIT): must be refused at load.
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

@external("wasi:sockets/tcp@0.2.0", "connect")
declare function connect(hp: usize, hl: usize, port: u16): u32;

serve((req: Request): Response => {
  const host = String.UTF8.encode('example.com');
  return Response.text(200, connect(changetype<usize>(host), host.byteLength, 80).toString());
});
