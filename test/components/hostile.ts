// Misbehaviour on demand, by path: /loop spins forever, /bomb allocates until memory runs out,
// /trap hits `unreachable`, /abort fails an assertion, /malformed returns a header list pointer
// outside memory, /logflood logs 10000 lines, /hold keeps as many MiB as its body says, /leak answers with what the
// previous request of this instance left behind.
import { Request, Response, log, serve, weft_handle as sdkHandle } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_post_handle } from 'weft/sdk/assemblyscript';

let previous = '';
let count = 0;
const hoard: ArrayBuffer[] = [];

function handle(req: Request): Response {
  if (req.path == '/loop') {
    let x = 0;
    while (x >= 0) x = (x + 1) & 0xffff;
    return Response.text(200, 'unreachable');
  }
  if (req.path == '/bomb') {
    for (;;) hoard.push(new ArrayBuffer(1 << 20));
  }
  if (req.path == '/trap') unreachable();
  if (req.path == '/abort') assert(false, 'the fixture asserted');
  if (req.path == '/malformed') return new Response(299);
  if (req.path == '/logflood') {
    for (let i = 0; i < 10000; i++) log.info('flood ' + i.toString());
    return Response.text(200, 'logged');
  }
  if (req.path == '/hold') {
    const mib = I32.parseInt(String.UTF8.decode(req.body.buffer));
    for (let i = 0; i < mib; i++) hoard.push(new ArrayBuffer(1 << 20));
    return Response.text(200, 'held ' + mib.toString());
  }
  if (req.path == '/leak') {
    const seen = previous;
    previous = String.UTF8.decode(req.body.buffer);
    count++;
    return Response.text(200, count.toString() + ':' + seen);
  }
  return Response.text(200, 'ok');
}

serve(handle);

/** Corrupts the lowered result of a 299 response: its header list points past the memory. */
export function weft_handle(
  mp: usize, ml: usize, pp: usize, pl: usize, qp: usize, ql: usize, hp: usize, hl: usize, bp: usize, bl: usize,
): usize {
  const ret = sdkHandle(mp, ml, pp, pl, qp, ql, hp, hl, bp, bl);
  if (load<u8>(ret) == 0 && load<u16>(ret, 4) == 299) {
    store<u32>(ret, 0xfffff000, 8);
    store<u32>(ret, 2, 12);
  }
  return ret;
}
