// What a bundle can be copied from and to — an OCI layout folder, the node's store, a registry
// repository — as one small interface, so pack, push, pull and sign are each one copy.

import type { BlobSource } from '../store/index.js';
import { MediaType, type Descriptor } from './oci.js';

export interface Progress {
  /** A blob transfer starts; returns a callback for bytes moved and one for the end. */
  start(label: string, total: number): { advance(bytes: number): void; done(note?: string): void };
}

export const quietProgress: Progress = { start: () => ({ advance: () => undefined, done: () => undefined }) };

/** Wraps a blob source so the bytes it yields advance a progress line named after the blob. */
export function tracked(descriptor: Descriptor, source: BlobSource, progress: Progress = quietProgress): { source: () => AsyncIterable<Uint8Array>; done(note?: string): void } {
  const label = descriptor.annotations?.['org.opencontainers.image.title'] ?? (descriptor.mediaType === MediaType.AppConfig ? 'weft.json' : descriptor.digest.slice(7, 19));
  const bar = progress.start(label, descriptor.size);
  return {
    source: async function* () {
      for await (const chunk of await source()) {
        bar.advance(chunk.byteLength);
        yield chunk;
      }
    },
    done: (note) => bar.done(note),
  };
}

export interface Target {
  /** Where this is, for messages. */
  readonly name: string;
  /** A manifest by tag or digest; its bytes are verified against the digest before they are returned. */
  getManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
  /** A blob's bytes, streamed and unverified: whoever stores them checks the digest. */
  openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>>;
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  putBlob(descriptor: Descriptor, source: BlobSource, progress?: Progress): Promise<void>;
  /** Stores a manifest by digest; one with a `subject` becomes a referrer of that subject. */
  putManifest(descriptor: Descriptor, bytes: Buffer): Promise<void>;
  /** Points a tag at a stored manifest. */
  tag(descriptor: Descriptor, bytes: Buffer, tag: string): Promise<void>;
  /** Manifests whose `subject` is the given one, with their artifactType. */
  referrers(subject: Descriptor): Promise<Descriptor[]>;
}
