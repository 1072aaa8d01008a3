// The content-addressed store: verified, atomic blob writes, tags, referrers and gc.
export { BlobStore, writeBlobAtomic, writeFileAtomic } from './blob-store.js';
export { collectGarbage } from './gc.js';
export { removeStaleTemps } from './temp.js';
export { digestFile, digestHex, isDigest, sha256 } from './digest.js';
export type { BlobRef, BlobSource } from './blob-store.js';
export type { GcResult } from './gc.js';
export type { TempSweep } from './temp.js';
