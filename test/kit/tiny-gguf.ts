// Writes a tiny llama-architecture GGUF (GGUF v3, F32 tensors) with seeded random weights, a
// byte-level SentencePiece vocabulary and a ChatML chat template, so that tests, the bench and
// demos can run a real llama.cpp model without downloading weights. Format: ggml docs/gguf.md.

import { writeFileSync } from 'node:fs';

export interface TinyGgufOptions {
  /** Seed of the weights; the same seed writes the same file. */
  seed?: number;
  /** Hidden size (a multiple of `heads`). */
  embedding?: number;
  layers?: number;
  heads?: number;
  /** Longest context the model declares. */
  contextLength?: number;
}

/** The ChatML template (a form llama.cpp and node-llama-cpp recognise). */
export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const ALIGNMENT = 32;
const GGUF_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

type Value =
  | { t: 'u32' | 'i32' | 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'string'; v: string }
  | { t: 'array'; of: 'string'; v: string[] }
  | { t: 'array'; of: 'f32' | 'i32'; v: number[] };

/** Growable little-endian byte writer. */
class Writer {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  u64(v: number): void {
    this.ensure(8);
    this.length = this.buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  f32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeFloatLE(v, this.length);
  }
  u8(v: number): void {
    this.ensure(1);
    this.length = this.buf.writeUInt8(v, this.length);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.bytes(bytes);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
  }
  pad(): void {
    while (this.length % ALIGNMENT !== 0) this.u8(0);
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: Writer, value: Value): void {
  w.u32(GGUF_TYPE[value.t]);
  switch (value.t) {
    case 'u32':
      return w.u32(value.v);
    case 'i32':
      return w.i32(value.v);
    case 'f32':
      return w.f32(value.v);
    case 'bool':
      return w.u8(value.v ? 1 : 0);
    case 'string':
      return w.str(value.v);
    case 'array':
      w.u32(GGUF_TYPE[value.of]);
      w.u64(value.v.length);
      for (const item of value.v) {
        if (value.of === 'string') w.str(item as string);
        else if (value.of === 'f32') w.f32(item as number);
        else w.i32(item as number);
      }
  }
}

/** mulberry32: a small seeded generator, so that a seed always writes the same weights. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The vocabulary: control tokens, the 256 byte-fallback tokens, then printable ASCII. */
function vocabulary(): { tokens: string[]; types: number[]; printable: boolean[] } {
  const tokens = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types: number[] = [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control, TOKEN_TYPE.control, TOKEN_TYPE.control];
  const printable = tokens.map(() => false);
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.byte);
    printable.push(false);
  }
  // SentencePiece writes a space as U+2581.
  for (let c = 0x20; c < 0x7f; c++) {
    tokens.push(c === 0x20 ? '\u2581' : String.fromCharCode(c));
    types.push(TOKEN_TYPE.normal);
    printable.push(true);
  }
  return { tokens, types, printable };
}

/** Builds the GGUF file's bytes. */
export function tinyGguf(options: TinyGgufOptions = {}): Buffer {
  const { seed = 1, embedding: E = 64, layers = 2, heads = 4, contextLength = 32768 } = options;
  const FF = E * 2;
  const rnd = random(seed);
  const gauss = (std: number) => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd()) * std;
  const vocab = vocabulary();
  const V = vocab.tokens.length;

  // Dimension 0 of the residual stream is held at a constant (set by the embeddings, untouched by
  // every layer's output), and the output weights give it a large negative weight for the
  // non-printable tokens: the model then only ever writes printable ASCII and never stops by
  // itself, so output is valid text and its length is exactly max_tokens.
  const tensors: Array<{ name: string; dims: number[]; data: Float32Array }> = [];
  // Weights scaled by 1/sqrt(fan-in) keep the residual stream near unit size at any width.
  const matrix = (name: string, cols: number, rows: number, zeroRow0 = false) => {
    const std = 1 / Math.sqrt(cols);
    const data = new Float32Array(cols * rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = zeroRow0 && r === 0 ? 0 : gauss(std);
    tensors.push({ name, dims: [cols, rows], data });
  };
  const ones = (name: string) => tensors.push({ name, dims: [E], data: new Float32Array(E).fill(1) });

  const embd = new Float32Array(E * V);
  for (let t = 0; t < V; t++) for (let c = 0; c < E; c++) embd[t * E + c] = c === 0 ? Math.sqrt(E) : gauss(1);
  tensors.push({ name: 'token_embd.weight', dims: [E, V], data: embd });
  for (let l = 0; l < layers; l++) {
    ones(`blk.${l}.attn_norm.weight`);
    matrix(`blk.${l}.attn_q.weight`, E, E);
    matrix(`blk.${l}.attn_k.weight`, E, E);
    matrix(`blk.${l}.attn_v.weight`, E, E);
    matrix(`blk.${l}.attn_output.weight`, E, E, true);
    ones(`blk.${l}.ffn_norm.weight`);
    matrix(`blk.${l}.ffn_gate.weight`, E, FF);
    matrix(`blk.${l}.ffn_up.weight`, E, FF);
    matrix(`blk.${l}.ffn_down.weight`, FF, E, true);
  }
  ones('output_norm.weight');
  const out = new Float32Array(E * V);
  for (let t = 0; t < V; t++) for (let c = 0; c < E; c++) out[t * E + c] = c === 0 ? (vocab.printable[t] ? 0 : -1000) : gauss(1);
  tensors.push({ name: 'output.weight', dims: [E, V], data: out });

  const kv: Array<[string, Value]> = [
    ['general.architecture', { t: 'string', v: 'llama' }],
    ['general.name', { t: 'string', v: 'weft-tiny' }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: contextLength }],
    ['llama.embedding_length', { t: 'u32', v: E }],
    ['llama.block_count', { t: 'u32', v: layers }],
    ['llama.feed_forward_length', { t: 'u32', v: FF }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: heads }],
    ['llama.rope.dimension_count', { t: 'u32', v: E / heads }],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['tokenizer.ggml.model', { t: 'string', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'array', of: 'string', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'array', of: 'f32', v: vocab.tokens.map(() => 0) }],
    ['tokenizer.ggml.token_type', { t: 'array', of: 'i32', v: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 4 }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
    ['tokenizer.chat_template', { t: 'string', v: TINY_CHAT_TEMPLATE }],
  ];

  const w = new Writer();
  w.bytes(Buffer.from('GGUF', 'ascii'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kv.length);
  for (const [key, value] of kv) {
    w.str(key);
    writeValue(w, value);
  }
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  w.pad();
  for (const t of tensors) {
    w.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    w.pad();
  }
  return w.result();
}

/** Writes the tiny model to `path` and returns the path. */
export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): string {
  writeFileSync(path, tinyGguf(options));
  return path;
}
