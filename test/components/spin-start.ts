// Spins forever in its start function (AssemblyScript top-level code): must be refused at load
// once the deadline passes, not hang the node.
import { Request, Response, serve } from '../../sdk/assemblyscript/index';
export { cabi_realloc, weft_handle, weft_post_handle } from '../../sdk/assemblyscript/index';

let x = 0;
while (x >= 0) x = (x + 1) & 0xffff;

serve((req: Request): Response => Response.text(200, x.toString()));
