// File faults for the store and bundle suites: damage a blob the way a bad disk would.
import { open } from 'node:fs/promises';

/** Flips one byte in the middle of a file, keeping its size. */
export async function flipByte(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, Math.floor(size / 2));
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}
