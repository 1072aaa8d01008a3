// Writes the tiny llama-architecture GGUF the tests use (seeded random weights, byte-level
// vocabulary, ChatML template), for serving by hand: `weft serve --model tiny=PATH`.
// Usage: node --import tsx scripts/make-tiny-gguf.ts OUT.gguf [SEED]
import { resolve } from 'node:path';
import { writeTinyGguf } from '../test/kit/tiny-gguf.js';

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: node --import tsx scripts/make-tiny-gguf.ts OUT.gguf [SEED]');
  process.exit(2);
}
const path = writeTinyGguf(resolve(out), { seed: Number(process.argv[3] ?? 1) });
console.log(`wrote ${path}`);
