// The Weft SDK for AssemblyScript components: request and response types, calls to the models
// the app was granted (tensor runs here, language models in llm.ts), logging, the monotonic clock, config values and host image decoding.
// An app's entry file calls `serve(handler)` and re-exports `handlerExports` (see docs/components.md).

import { allocForHost, freePending, putBytes, putString, takeBytes, takeString, cabi_realloc } from './abi';
export { cabi_realloc };
export {
  ChatMessage, GenerateParams, Usage, LlmOutcome, TokenStream, StreamResult, Generation, Embeddings,
  generateStream, chatStream, generate, chat, embed,
} from './llm';

// ---------------------------------------------------------------- raw imports (canonical ABI)
@external("weft:ai/inference@0.1.0", "models")
declare function _models(ret: usize): void;
@external("weft:ai/inference@0.1.0", "signature")
declare function _signature(mp: usize, ml: usize, ret: usize): void;
@external("weft:ai/inference@0.1.0", "run")
declare function _run(mp: usize, ml: usize, ip: usize, il: usize, ret: usize): void;
@external("weft:app/log@0.1.0", "log")
declare function _log(level: i32, mp: usize, ml: usize): void;
@external("weft:app/clock@0.1.0", "now")
declare function _now(): u64;
@external("weft:app/config@0.1.0", "get")
declare function _configGet(kp: usize, kl: usize, ret: usize): void;
@external("weft:app/image@0.1.0", "decode")
declare function _decode(dp: usize, dl: usize, ret: usize): void;

const RET: usize = memory.data(32, 8);

// ---------------------------------------------------------------- types
/** Tensor element types, in the order of the WIT enum `datatype`. */
export namespace Datatype {
  export const BOOL: u8 = 0;
  export const UINT8: u8 = 1;
  export const UINT16: u8 = 2;
  export const UINT32: u8 = 3;
  export const UINT64: u8 = 4;
  export const INT8: u8 = 5;
  export const INT16: u8 = 6;
  export const INT32: u8 = 7;
  export const INT64: u8 = 8;
  export const FP16: u8 = 9;
  export const FP32: u8 = 10;
  export const FP64: u8 = 11;
  export const BYTES: u8 = 12;
}

/** Error kinds a handler may return, in the order of the WIT enum `error-kind`. */
export namespace ErrorKind {
  export const BadRequest: u8 = 0;
  export const NotFound: u8 = 1;
  export const Unprocessable: u8 = 2;
  export const Unavailable: u8 = 3;
  export const Internal: u8 = 4;
}

/** Why a model call failed, in the order of the WIT enum `error-code`. */
export namespace ModelErrorCode {
  export const NotGranted: u8 = 0;
  export const NotFound: u8 = 1;
  export const InvalidInput: u8 = 2;
  export const Unavailable: u8 = 3;
  export const Failed: u8 = 4;
}

export class Header {
  constructor(public name: string, public value: string) {}
}

export class Request {
  method: string = '';
  path: string = '';
  query: string = '';
  headers: Header[] = [];
  body: Uint8Array = new Uint8Array(0);

  header(name: string): string | null {
    for (let i = 0; i < this.headers.length; i++) if (this.headers[i].name == name) return this.headers[i].value;
    return null;
  }
}

export class Response {
  headers: Header[] = [];
  body: ArrayBuffer = new ArrayBuffer(0);
  /** Set when the handler fails: the host answers with an error status and stable code. */
  errorKind: i32 = -1;
  errorMessage: string = '';
  constructor(public status: u16 = 200) {}

  static text(status: u16, text: string, contentType: string = 'text/plain; charset=utf-8'): Response {
    const r = new Response(status);
    r.headers.push(new Header('content-type', contentType));
    r.body = String.UTF8.encode(text);
    return r;
  }
  static json(status: u16, json: string): Response {
    return Response.text(status, json, 'application/json');
  }
  static bytes(status: u16, body: ArrayBuffer, contentType: string): Response {
    const r = new Response(status);
    r.headers.push(new Header('content-type', contentType));
    r.body = body;
    return r;
  }
  /** A typed failure (ErrorKind.*). */
  static error(kind: u8, message: string): Response {
    const r = new Response(500);
    r.errorKind = kind;
    r.errorMessage = message;
    return r;
  }
}

export class Tensor {
  constructor(public name: string, public datatype: u8, public shape: u32[], public data: ArrayBuffer) {}

  static f32(name: string, shape: u32[], values: Float32Array): Tensor {
    return new Tensor(name, Datatype.FP32, shape, values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  }
  /** The elements as float32 (a view, no copy). */
  asF32(): Float32Array {
    return Float32Array.wrap(this.data);
  }
}

export class TensorSpec {
  constructor(public name: string, public datatype: u8, public shape: i64[]) {}
}

export class Signature {
  inputs: TensorSpec[] = [];
  outputs: TensorSpec[] = [];
  maxBatchSize: u32 = 0;
}

/** Outcome of a model call: `tensors` when ok, else `errorCode` and `error`. */
export class RunResult {
  tensors: Tensor[] = [];
  errorCode: i32 = -1;
  error: string = '';
  get ok(): bool {
    return this.errorCode < 0;
  }
  get(name: string): Tensor | null {
    for (let i = 0; i < this.tensors.length; i++) if (this.tensors[i].name == name) return this.tensors[i];
    return null;
  }
}

export class SignatureResult {
  signature: Signature = new Signature();
  errorCode: i32 = -1;
  error: string = '';
  get ok(): bool {
    return this.errorCode < 0;
  }
}

export class Image {
  constructor(public width: u32, public height: u32, public rgb: Uint8Array) {}
}

export class DecodeResult {
  image: Image | null = null;
  error: string = '';
}

// ---------------------------------------------------------------- imports, lifted
/** The models this component may call. */
export function models(): string[] {
  _models(RET);
  const ptr = load<u32>(RET);
  const len = load<u32>(RET, 4);
  const out = new Array<string>(<i32>len);
  for (let i: u32 = 0; i < len; i++) {
    const e = <usize>(ptr + i * 8);
    out[i] = takeString(load<u32>(e), load<u32>(e, 4));
  }
  if (ptr != 0) heap.free(ptr);
  return out;
}

function takeSpecs(ptr: u32, len: u32): TensorSpec[] {
  const out = new Array<TensorSpec>(<i32>len);
  for (let i: u32 = 0; i < len; i++) {
    const e = <usize>(ptr + i * 20);
    const name = takeString(load<u32>(e), load<u32>(e, 4));
    const sp = <usize>load<u32>(e, 12);
    const sl = load<u32>(e, 16);
    const shape = new Array<i64>(<i32>sl);
    for (let j: u32 = 0; j < sl; j++) shape[j] = load<i64>(sp + j * 8);
    if (sp != 0) heap.free(sp);
    out[i] = new TensorSpec(name, load<u8>(e, 8), shape);
  }
  if (ptr != 0) heap.free(ptr);
  return out;
}

/** A granted model's signature. */
export function signature(model: string): SignatureResult {
  const m = String.UTF8.encode(model);
  _signature(changetype<usize>(m), m.byteLength, RET);
  const r = new SignatureResult();
  if (load<u8>(RET) == 0) {
    r.signature.inputs = takeSpecs(load<u32>(RET, 4), load<u32>(RET, 8));
    r.signature.outputs = takeSpecs(load<u32>(RET, 12), load<u32>(RET, 16));
    r.signature.maxBatchSize = load<u32>(RET, 20);
  } else {
    r.errorCode = load<u8>(RET, 4);
    r.error = takeString(load<u32>(RET, 8), load<u32>(RET, 12));
  }
  return r;
}

/** Runs a granted model through the node's queue and batcher. */
export function run(model: string, inputs: Tensor[]): RunResult {
  const m = String.UTF8.encode(model);
  // Lower the inputs: 28-byte records {name, datatype, shape, data} pointing at managed buffers
  // that stay reachable (from `names`, `shapes` and `inputs`) until the call returns.
  const recs = heap.alloc(<usize>inputs.length * 28 + 1);
  const names = new Array<ArrayBuffer>(inputs.length);
  const shapes = new Array<StaticArray<u32>>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    const e = recs + <usize>i * 28;
    names[i] = String.UTF8.encode(t.name);
    const shape = new StaticArray<u32>(t.shape.length);
    for (let j = 0; j < t.shape.length; j++) shape[j] = t.shape[j];
    shapes[i] = shape;
    store<u32>(e, <u32>changetype<usize>(names[i]));
    store<u32>(e, <u32>names[i].byteLength, 4);
    store<u8>(e, t.datatype, 8);
    store<u32>(e, <u32>changetype<usize>(shape), 12);
    store<u32>(e, <u32>shape.length, 16);
    store<u32>(e, <u32>changetype<usize>(t.data), 20);
    store<u32>(e, <u32>t.data.byteLength, 24);
  }
  _run(changetype<usize>(m), m.byteLength, recs, inputs.length, RET);
  heap.free(recs);
  const r = new RunResult();
  if (load<u8>(RET) == 0) {
    const ptr = load<u32>(RET, 4);
    const len = load<u32>(RET, 8);
    for (let i: u32 = 0; i < len; i++) {
      const e = <usize>(ptr + i * 28);
      const name = takeString(load<u32>(e), load<u32>(e, 4));
      const sp = <usize>load<u32>(e, 12);
      const sl = load<u32>(e, 16);
      const shape = new Array<u32>(<i32>sl);
      for (let j: u32 = 0; j < sl; j++) shape[j] = load<u32>(sp + j * 4);
      if (sp != 0) heap.free(sp);
      r.tensors.push(new Tensor(name, load<u8>(e, 8), shape, takeBytes(load<u32>(e, 20), load<u32>(e, 24))));
    }
    if (ptr != 0) heap.free(ptr);
  } else {
    r.errorCode = load<u8>(RET, 4);
    r.error = takeString(load<u32>(RET, 8), load<u32>(RET, 12));
  }
  return r;
}

export namespace log {
  function write(level: i32, message: string): void {
    const m = String.UTF8.encode(message);
    _log(level, changetype<usize>(m), m.byteLength);
  }
  export function debug(message: string): void {
    write(0, message);
  }
  export function info(message: string): void {
    write(1, message);
  }
  export function warn(message: string): void {
    write(2, message);
  }
  export function error(message: string): void {
    write(3, message);
  }
}

/** Monotonic nanoseconds. */
export function now(): u64 {
  return _now();
}

/** A config value granted in weft.json, or null. */
export function config(key: string): string | null {
  const k = String.UTF8.encode(key);
  _configGet(changetype<usize>(k), k.byteLength, RET);
  if (load<u8>(RET) == 0) return null;
  return takeString(load<u32>(RET, 4), load<u32>(RET, 8));
}

/** Decodes a PNG or JPEG on the host into RGB pixels. */
export function decodeImage(data: Uint8Array): DecodeResult {
  _decode(data.dataStart, data.byteLength, RET);
  const r = new DecodeResult();
  if (load<u8>(RET) == 0) {
    const w = load<u32>(RET, 4);
    const h = load<u32>(RET, 8);
    r.image = new Image(w, h, Uint8Array.wrap(takeBytes(load<u32>(RET, 12), load<u32>(RET, 16))));
  } else {
    r.error = takeString(load<u32>(RET, 4), load<u32>(RET, 8));
  }
  return r;
}

// ---------------------------------------------------------------- the export
let handler: ((req: Request) => Response) | null = null;

/** Registers the app's request handler; call once at the top level of the entry file. */
export function serve(h: (req: Request) => Response): void {
  handler = h;
}

/** The lowered `weft:app/handler@0.1.0#handle` (renamed by the build). */
export function weft_handle(
  mp: usize, ml: usize, pp: usize, pl: usize, qp: usize, ql: usize, hp: usize, hl: usize, bp: usize, bl: usize,
): usize {
  const req = new Request();
  req.method = takeString(mp, ml);
  req.path = takeString(pp, pl);
  req.query = takeString(qp, ql);
  for (let i: usize = 0; i < hl; i++) {
    const e = hp + i * 16;
    req.headers.push(new Header(takeString(load<u32>(e), load<u32>(e, 4)), takeString(load<u32>(e, 8), load<u32>(e, 12))));
  }
  if (hp != 0) heap.free(hp);
  req.body = Uint8Array.wrap(takeBytes(bp, bl));
  const h = handler;
  const res = h === null ? Response.error(ErrorKind.Internal, 'the component never called serve(handler)') : h(req);
  const out = allocForHost(24);
  if (res.errorKind >= 0) {
    store<u8>(out, 1);
    store<u8>(out, <u8>res.errorKind, 4);
    putString(res.errorMessage, out + 8);
    return out;
  }
  store<u8>(out, 0);
  store<u16>(out, res.status, 4);
  const n = res.headers.length;
  const hs = allocForHost(<usize>n * 16);
  for (let i = 0; i < n; i++) {
    putString(res.headers[i].name, hs + <usize>i * 16);
    putString(res.headers[i].value, hs + <usize>i * 16 + 8);
  }
  store<u32>(out, <u32>hs, 8);
  store<u32>(out, <u32>n, 12);
  putBytes(res.body, out + 16);
  return out;
}

/** The lowered post-return: the host has copied the result out. */
export function weft_post_handle(_ret: usize): void {
  freePending();
}

/** Traps with the message logged, so the host can report why (used via `--use abort=`). */
export function weftAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  const m = (message === null ? 'abort' : message!) + ' at ' + (file === null ? '?' : file!) + ':' + line.toString() + ':' + column.toString();
  log.error(m);
  unreachable();
}
