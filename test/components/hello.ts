// The smallest useful component: answers every request with "hi" (benchmarks the call path).
import { Request, Response, serve } from '../../sdk/assemblyscript/index';
export { cabi_realloc, weft_handle, weft_post_handle } from '../../sdk/assemblyscript/index';

serve((req: Request): Response => Response.text(200, 'hi'));
