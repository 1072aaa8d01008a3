// A model file that was verified when its app was deployed, checked again before every load: a
// file changed since (on disk in an app folder, or a store blob altered in place) is refused
// rather than loaded unverified. Hashing a multi-gigabyte GGUF before every load would cost
// seconds, so the file is hashed once and, while its size, inode, mtime and ctime stay what they
// were then, trusted; any write changes ctime, and then it is hashed again.

import { statSync, type Stats } from 'node:fs';
import { ErrorCode, WeftError } from '../errors.js';
import { digestFile } from '../store/index.js';

function fingerprint(s: Stats): string {
  return `${s.size}:${s.ino}:${s.mtimeMs}:${s.ctimeMs}`;
}

export class ModelFile {
  /** The file's fingerprint when its content last matched `digest`. */
  private matched: string | undefined;

  constructor(
    readonly path: string,
    /** sha256 digest the file was verified as at deploy; undefined for a model repository's files, which nothing verified. */
    readonly digest: string | undefined,
  ) {}

  /** Throws DIGEST_MISMATCH when the file no longer holds what was deployed. */
  async verify(model: string): Promise<void> {
    if (this.digest === undefined) return;
    const before = fingerprint(statSync(this.path));
    if (before === this.matched) return;
    const { digest } = await digestFile(this.path);
    if (digest !== this.digest) {
      throw new WeftError(ErrorCode.DigestMismatch, `model '${model}': ${this.path} changed after it was deployed (it now hashes to ${digest}, deployed as ${this.digest}); deploy the app again`);
    }
    // Written to while it was hashed: the next load hashes it again.
    if (fingerprint(statSync(this.path)) === before) this.matched = before;
  }
}
