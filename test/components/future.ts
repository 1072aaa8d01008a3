// Imports weft:ai/inference@0.2.0 (declared by the test's extra WIT), a version this node does
// not provide: must be refused at load, naming the version.
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

@external("weft:ai/inference@0.2.0", "count")
declare function count(): u32;

serve((req: Request): Response => Response.text(200, count().toString()));
