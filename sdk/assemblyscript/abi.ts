// Canonical-ABI glue for the weft:app@0.1.0 world (AssemblyScript): the raw imports, the
// allocator the host calls (cabi_realloc) and the lifting/lowering of strings, lists and
// records. Layouts follow the Component Model's canonical ABI for the WIT in wit/.

// Raw allocations made for the value being returned to the host; freed in post-return.
const pending: usize[] = [];

/** The allocator the host uses to pass lists and strings in (canonical ABI `cabi_realloc`). */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  // TLSF blocks are 16-byte aligned, enough for every canonical-ABI alignment (at most 8).
  if (oldPtr != 0) return heap.realloc(oldPtr, newSize);
  return heap.alloc(newSize == 0 ? 1 : newSize);
}

/** Allocates raw memory that lives until the host has read the handler's result. */
export function allocForHost(size: usize): usize {
  const ptr = heap.alloc(size == 0 ? 1 : size);
  pending.push(ptr);
  return ptr;
}

export function freePending(): void {
  for (let i = 0; i < pending.length; i++) heap.free(pending[i]);
  pending.length = 0;
}

/** Reads a UTF-8 string the host wrote, then frees its buffer. */
export function takeString(ptr: usize, len: usize): string {
  const s = String.UTF8.decodeUnsafe(ptr, len);
  if (ptr != 0 && len != 0) heap.free(ptr);
  return s;
}

/** Copies a byte list the host wrote into a managed buffer, then frees it. */
export function takeBytes(ptr: usize, len: usize): ArrayBuffer {
  const buf = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(buf), ptr, len);
  if (ptr != 0 && len != 0) heap.free(ptr);
  return buf;
}

/** Writes a string for the host into pending memory; returns [ptr, len] via the two slots. */
export function putString(s: string, at: usize): void {
  const len = <usize>String.UTF8.byteLength(s);
  const ptr = allocForHost(len);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, ptr);
  store<u32>(at, <u32>ptr);
  store<u32>(at, <u32>len, 4);
}

export function putBytes(b: ArrayBuffer, at: usize): void {
  const len = <usize>b.byteLength;
  const ptr = allocForHost(len);
  memory.copy(ptr, changetype<usize>(b), len);
  store<u32>(at, <u32>ptr);
  store<u32>(at, <u32>len, 4);
}
