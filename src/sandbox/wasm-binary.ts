// Rewrites core WebAssembly modules without a toolchain: caps every linear memory (declared or
// imported) at a maximum, because worker heap limits do not cover Wasm memory, and renames
// exports (AssemblyScript cannot spell the Component Model's export names).

import { ErrorCode, WeftError } from '../errors.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
export const WASM_PAGE = 65536;

/** Whether bytes are binary WebAssembly: core modules and components share the `\0asm` preamble (their version words differ). */
export function isWasmBinary(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.slice(0, 4).every((b, i) => bytes[i] === b);
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of module');
    return this.bytes[this.pos++]!;
  }
  /** Unsigned LEB128 (up to 64 bits, returned as a number: page counts stay far below 2^53). */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new Error('unexpected end of module');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): Uint8Array {
    return this.take(this.uleb());
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function nameBytes(s: Uint8Array | string): number[] {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  return [...uleb(b.length), ...b];
}

interface Section {
  id: number;
  body: Uint8Array;
}

function sections(module: Uint8Array): Section[] {
  if (module.length < 8 || MAGIC.some((b, i) => module[i] !== b)) throw new Error('not a core WebAssembly module');
  const r = new Reader(module);
  r.pos = 8;
  const out: Section[] = [];
  while (r.pos < module.length) {
    const id = r.byte();
    out.push({ id, body: r.take(r.uleb()) });
  }
  return out;
}

function assemble(parts: Section[]): Uint8Array {
  const chunks: number[][] = [MAGIC];
  let size = 8;
  const bodies: Array<[number[], Uint8Array]> = parts.map((s) => [[s.id, ...uleb(s.body.length)], s.body]);
  for (const [head, body] of bodies) size += head.length + body.length;
  const out = new Uint8Array(size);
  out.set(chunks[0]!, 0);
  let at = 8;
  for (const [head, body] of bodies) {
    out.set(head, at);
    at += head.length;
    out.set(body, at);
    at += body.length;
  }
  return out;
}

/** Reads memory limits at the reader and writes them back capped at `maxPages`. */
function capLimits(r: Reader, maxPages: number, where: string): number[] {
  const flags = r.byte();
  const min = r.uleb();
  const max = flags & 1 ? r.uleb() : Infinity;
  if (min > maxPages) {
    throw new WeftError(
      ErrorCode.ComponentRefused,
      `${where} starts at ${min * 64} KiB, above the memory limit of ${maxPages * 64} KiB: raise component.limits.memory in weft.json`,
    );
  }
  // Shared memories must keep their declared maximum: a larger one only ever shrinks here.
  return [flags | 1, ...uleb(min), ...uleb(Math.min(max, maxPages))];
}

/** Caps every memory of a core module (defined or imported) at `maxBytes`. */
export function capMemories(module: Uint8Array, maxBytes: number): Uint8Array {
  const maxPages = Math.max(1, Math.floor(maxBytes / WASM_PAGE));
  const out = sections(module).map((s): Section => {
    if (s.id === SECTION_MEMORY) {
      const r = new Reader(s.body);
      const n = r.uleb();
      const body = [...uleb(n)];
      for (let i = 0; i < n; i++) body.push(...capLimits(r, maxPages, `memory ${i}`));
      return { id: s.id, body: Uint8Array.from(body) };
    }
    if (s.id === SECTION_IMPORT) {
      const r = new Reader(s.body);
      const n = r.uleb();
      const body = [...uleb(n)];
      for (let i = 0; i < n; i++) {
        const start = r.pos;
        r.name();
        r.name();
        const kind = r.byte();
        body.push(...r.bytes.subarray(start, r.pos));
        if (kind === 2) {
          body.push(...capLimits(r, maxPages, 'an imported memory'));
          continue;
        }
        const from = r.pos;
        if (kind === 0) r.uleb();
        else if (kind === 1) {
          r.byte();
          const flags = r.byte();
          r.uleb();
          if (flags & 1) r.uleb();
        } else if (kind === 3) {
          r.byte();
          r.byte();
        } else if (kind === 4) {
          r.byte();
          r.uleb();
        } else throw new Error(`unknown import kind ${kind}`);
        body.push(...r.bytes.subarray(from, r.pos));
      }
      return { id: s.id, body: Uint8Array.from(body) };
    }
    return s;
  });
  return assemble(out);
}

/** Renames exports; names not in the map are kept. */
export function renameExports(module: Uint8Array, names: Readonly<Record<string, string>>): Uint8Array {
  const decoder = new TextDecoder();
  const out = sections(module).map((s): Section => {
    if (s.id !== SECTION_EXPORT) return s;
    const r = new Reader(s.body);
    const n = r.uleb();
    const body = [...uleb(n)];
    for (let i = 0; i < n; i++) {
      const name = decoder.decode(r.name());
      const kind = r.byte();
      const index = r.uleb();
      body.push(...nameBytes(names[name] ?? name), kind, ...uleb(index));
    }
    return { id: s.id, body: Uint8Array.from(body) };
  });
  return assemble(out);
}
