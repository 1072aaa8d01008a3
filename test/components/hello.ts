// The smallest useful component: answers every request with "hi" (benchmarks the call path).
import { Request, Response, serve } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

serve((req: Request): Response => Response.text(200, 'hi'));
