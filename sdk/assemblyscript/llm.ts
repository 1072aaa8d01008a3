// Language models for AssemblyScript components (weft:ai/inference generate-stream, next-chunk,
// close-stream, generate, embed): streamed or whole text generation, optionally constrained to a
// JSON schema, and embeddings. Lowering follows the canonical ABI layouts noted on each call.

import { takeBytes, takeString } from './abi';

// Over 16 flat parameters: the arguments go in memory, (args, ret) is the lowered signature.
@external("weft:ai/inference@0.1.0", "generate-stream")
declare function _generateStream(args: usize, ret: usize): void;
@external("weft:ai/inference@0.1.0", "next-chunk")
declare function _nextChunk(stream: u32, ret: usize): void;
@external("weft:ai/inference@0.1.0", "close-stream")
declare function _closeStream(stream: u32): void;
@external("weft:ai/inference@0.1.0", "generate")
declare function _generate(args: usize, ret: usize): void;
@external("weft:ai/inference@0.1.0", "embed")
declare function _embed(mp: usize, ml: usize, ip: usize, il: usize, ret: usize): void;

const RET: usize = memory.data(32, 8);

/** One chat message; role is "system", "user" or "assistant". */
export class ChatMessage {
  constructor(public role: string, public content: string) {}
}

/** Sampling options; a field left at its default (-1, NaN, null) takes the model's default. */
export class GenerateParams {
  maxTokens: i32 = -1;
  temperature: f32 = NaN;
  topP: f32 = NaN;
  topK: i32 = -1;
  seed: i64 = -1;
  stop: string[] = [];
  /** A JSON schema (JSON text) the output must match: enforced while sampling. */
  jsonSchema: string | null = null;
}

export class Usage {
  constructor(public promptTokens: u32, public completionTokens: u32, public finishReason: string) {}
}

/** Failure fields shared by the results: errorCode is a ModelErrorCode, -1 when ok. */
export class LlmOutcome {
  errorCode: i32 = -1;
  error: string = '';
  get ok(): bool {
    return this.errorCode < 0;
  }
  readError(ret: usize): void {
    this.errorCode = load<u8>(ret, 4);
    this.error = takeString(load<u32>(ret, 8), load<u32>(ret, 12));
  }
}

/** An open generation: call next() until it returns null, then read usage (or error). */
export class TokenStream extends LlmOutcome {
  usage: Usage | null = null;
  private open: bool = true;
  constructor(public handle: u32) {
    super();
  }

  /** Blocks until the next piece of text; null at the end (usage set) or on failure (errorCode). */
  next(): string | null {
    if (!this.open) return null;
    _nextChunk(this.handle, RET);
    if (load<u8>(RET) != 0) {
      this.open = false;
      this.readError(RET);
      return null;
    }
    if (load<u8>(RET, 4) == 0) return takeString(load<u32>(RET, 8), load<u32>(RET, 12));
    this.open = false;
    this.usage = new Usage(load<u32>(RET, 8), load<u32>(RET, 12), load<u8>(RET, 16) == 0 ? 'stop' : 'length');
    return null;
  }

  /** Stops the generation early and frees its slot on the model. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    _closeStream(this.handle);
  }
}

export class StreamResult extends LlmOutcome {
  stream: TokenStream | null = null;
}

export class Generation extends LlmOutcome {
  text: string = '';
  usage: Usage | null = null;
}

export class Embeddings extends LlmOutcome {
  vectors: Float32Array[] = [];
}

/** Points (ptr, len) at `at` to the UTF-8 of `s`, kept alive by `keep`. */
function put(s: string, at: usize, keep: ArrayBuffer[]): void {
  const b = String.UTF8.encode(s);
  keep.push(b);
  store<u32>(at, <u32>changetype<usize>(b));
  store<u32>(at, <u32>b.byteLength, 4);
}

/**
 * Writes the (model, input, params) tuple: model 0..8, input variant 8..20 (case at 8, list at
 * 12), params 20..80 (options as case byte + value at +4; stop list at 60; json-schema at 68).
 * `keep` holds the managed buffers the pointers refer to until the call returns.
 */
function lowerArgs(model: string, prompt: string | null, messages: ChatMessage[] | null, p: GenerateParams, keep: ArrayBuffer[]): usize {
  const a = heap.alloc(80);
  memory.fill(a, 0, 80);
  put(model, a, keep);
  if (prompt !== null) {
    store<u8>(a, 0, 8);
    put(prompt, a + 12, keep);
  } else {
    const ms = messages!;
    const recs = new ArrayBuffer(ms.length * 16);
    keep.push(recs);
    const r = changetype<usize>(recs);
    for (let i = 0; i < ms.length; i++) {
      put(ms[i].role, r + <usize>i * 16, keep);
      put(ms[i].content, r + <usize>i * 16 + 8, keep);
    }
    store<u8>(a, 1, 8);
    store<u32>(a, <u32>r, 12);
    store<u32>(a, <u32>ms.length, 16);
  }
  if (p.maxTokens >= 0) { store<u8>(a, 1, 20); store<u32>(a, <u32>p.maxTokens, 24); }
  if (!isNaN(p.temperature)) { store<u8>(a, 1, 28); store<f32>(a, p.temperature, 32); }
  if (!isNaN(p.topP)) { store<u8>(a, 1, 36); store<f32>(a, p.topP, 40); }
  if (p.topK >= 0) { store<u8>(a, 1, 44); store<u32>(a, <u32>p.topK, 48); }
  if (p.seed >= 0) { store<u8>(a, 1, 52); store<u32>(a, <u32>p.seed, 56); }
  const stops = new ArrayBuffer(p.stop.length * 8);
  keep.push(stops);
  for (let i = 0; i < p.stop.length; i++) put(p.stop[i], changetype<usize>(stops) + <usize>i * 8, keep);
  store<u32>(a, <u32>changetype<usize>(stops), 60);
  store<u32>(a, <u32>p.stop.length, 64);
  const schema = p.jsonSchema;
  if (schema !== null) {
    store<u8>(a, 1, 68);
    put(schema, a + 72, keep);
  }
  return a;
}

function startStream(model: string, prompt: string | null, messages: ChatMessage[] | null, params: GenerateParams): StreamResult {
  const keep: ArrayBuffer[] = [];
  const args = lowerArgs(model, prompt, messages, params, keep);
  _generateStream(args, RET);
  heap.free(args);
  const r = new StreamResult();
  if (load<u8>(RET) == 0) r.stream = new TokenStream(load<u32>(RET, 4));
  else r.readError(RET);
  return r;
}

function whole(model: string, prompt: string | null, messages: ChatMessage[] | null, params: GenerateParams): Generation {
  const keep: ArrayBuffer[] = [];
  const args = lowerArgs(model, prompt, messages, params, keep);
  _generate(args, RET);
  heap.free(args);
  const r = new Generation();
  if (load<u8>(RET) == 0) {
    r.text = takeString(load<u32>(RET, 4), load<u32>(RET, 8));
    r.usage = new Usage(load<u32>(RET, 12), load<u32>(RET, 16), load<u8>(RET, 20) == 0 ? 'stop' : 'length');
  } else r.readError(RET);
  return r;
}

/** Starts a generation from raw text; read it with `stream.next()`. */
export function generateStream(model: string, prompt: string, params: GenerateParams = new GenerateParams()): StreamResult {
  return startStream(model, prompt, null, params);
}

/** Starts a chat generation (the model's chat template applies). */
export function chatStream(model: string, messages: ChatMessage[], params: GenerateParams = new GenerateParams()): StreamResult {
  return startStream(model, null, messages, params);
}

/** Generates the whole text from raw text. */
export function generate(model: string, prompt: string, params: GenerateParams = new GenerateParams()): Generation {
  return whole(model, prompt, null, params);
}

/** Generates a whole chat answer. */
export function chat(model: string, messages: ChatMessage[], params: GenerateParams = new GenerateParams()): Generation {
  return whole(model, null, messages, params);
}

/** One vector per input. */
export function embed(model: string, inputs: string[]): Embeddings {
  const m = String.UTF8.encode(model);
  const recs = new ArrayBuffer(inputs.length * 8);
  const keep = new Array<ArrayBuffer>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    keep[i] = String.UTF8.encode(inputs[i]);
    store<u32>(changetype<usize>(recs) + <usize>i * 8, <u32>changetype<usize>(keep[i]));
    store<u32>(changetype<usize>(recs) + <usize>i * 8, <u32>keep[i].byteLength, 4);
  }
  _embed(changetype<usize>(m), m.byteLength, changetype<usize>(recs), inputs.length, RET);
  const r = new Embeddings();
  if (load<u8>(RET) == 0) {
    const ptr = load<u32>(RET, 4);
    const len = load<u32>(RET, 8);
    for (let i: u32 = 0; i < len; i++) {
      const e = <usize>(ptr + i * 8);
      r.vectors.push(Float32Array.wrap(takeBytes(load<u32>(e), <usize>load<u32>(e, 4) * 4)));
    }
    if (ptr != 0) heap.free(ptr);
  } else r.readError(RET);
  return r;
}
