// Spins forever in its start function (AssemblyScript top-level code): must be refused at load
// once the deadline passes, not hang the node.
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

let x = 0;
while (x >= 0) x = (x + 1) & 0xffff;

serve((req: Request): Response => Response.text(200, x.toString()));
