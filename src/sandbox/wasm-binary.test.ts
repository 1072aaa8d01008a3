// The core-module rewriter: memories (declared and imported) get a maximum no larger than the
// cap, a memory that starts above the cap is refused, and renamed exports keep their targets.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capMemories, renameExports, WASM_PAGE } from './wasm-binary.js';

const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const str = (s: string) => [s.length, ...Buffer.from(s)];
const section = (id: number, body: number[]) => [id, body.length, ...body];

/** (func (export "f")) and (memory 2 [max]) exported as "memory", or (import "env" "mem" (memory 1)). */
function module(ownMax?: number, imported = false): Uint8Array {
  const type = section(1, [1, 0x60, 0, 0]);
  const imports = imported ? section(2, [1, ...str('env'), ...str('mem'), 2, 0x00, 1]) : [];
  const func = section(3, [1, 0]);
  const memory = imported ? [] : section(5, ownMax === undefined ? [1, 0x00, 2] : [1, 0x01, 2, ownMax]);
  const exports = section(7, [2, ...str('f'), 0, 0, ...str('memory'), 2, 0]);
  const code = section(10, [1, 2, 0, 0x0b]);
  return Uint8Array.from([...header, ...type, ...imports, ...func, ...memory, ...exports, ...code]);
}

describe('capMemories', () => {
  it('gives every memory a maximum at the cap, keeping a smaller one', () => {
    const compile = (bytes: Uint8Array) => new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const own = new WebAssembly.Instance(compile(capMemories(module(), 4 * WASM_PAGE))).exports.memory as WebAssembly.Memory;
    assert.throws(() => own.grow(3), RangeError, 'grows past 4 pages');
    assert.equal(own.grow(2), 2);
    const small = new WebAssembly.Instance(compile(capMemories(module(3), 64 * WASM_PAGE))).exports.memory as WebAssembly.Memory;
    assert.throws(() => small.grow(2), RangeError, 'its own maximum of 3 stays');
    // An imported memory must now declare a maximum of at most 4 pages: an unbounded one is refused.
    const importing = compile(capMemories(module(undefined, true), 4 * WASM_PAGE));
    assert.throws(() => new WebAssembly.Instance(importing, { env: { mem: new WebAssembly.Memory({ initial: 1 }) } }), /maximum/);
    new WebAssembly.Instance(importing, { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 4 }) } });
  });

  it('refuses a memory that starts above the cap, saying which limit to raise', () => {
    assert.throws(() => capMemories(module(), WASM_PAGE), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'COMPONENT_REFUSED');
      assert.match(err.message, /memory 0 starts at 128 KiB, above the memory limit of 64 KiB: raise component.limits.memory/);
      return true;
    });
  });
});

describe('renameExports', () => {
  it('renames exports and keeps what they point at', () => {
    const renamed = new WebAssembly.Module(renameExports(module(), { f: 'weft:app/handler@0.1.0#handle' }) as Uint8Array<ArrayBuffer>);
    assert.deepEqual(
      WebAssembly.Module.exports(renamed).map((e) => `${e.name}:${e.kind}`),
      ['weft:app/handler@0.1.0#handle:function', 'memory:memory'],
    );
  });
});
