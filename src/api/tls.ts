// The HTTP API's certificate (and, for mutual TLS, the CA client certificates must chain to): read
// at start, and read again whenever one of the files changes (a renewal by certbot or
// cert-manager, a Kubernetes secret swapped), so new connections get the new one without a
// restart. A set that does not load (half written, mismatched) is logged and the last good one
// kept: a renewal in progress never takes the node off the air.

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ErrorCode, WeftError } from '../errors.js';
import type { Logger } from '../telemetry/index.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** Clients must present a certificate this CA signed. */
  clientCa?: string | undefined;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Files are polled (stat) this often: inotify misses files replaced by rename or symlink swap. */
const POLL_MS = 1000;

/** Reads and checks a certificate and its key; a WeftError naming the file at fault otherwise. */
export function readTls(files: TlsFiles): TlsPair {
  const read = (file: string, field: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new WeftError(ErrorCode.InvalidConfig, `cannot read ${file}: ${(err as Error).message}`, { field, cause: err });
    }
  };
  const pair: TlsPair = { cert: read(files.cert, 'tlsCert'), key: read(files.key, 'tlsKey') };
  if (files.clientCa !== undefined) pair.ca = read(files.clientCa, 'tlsClientCa');
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${files.cert} and ${files.key} are not a certificate and its key: ${(err as Error).message}`, { field: 'tlsCert', cause: err });
  }
  return pair;
}

/** What a log line may say of a certificate: never the key. */
function describe(cert: Buffer): { subject: string; expires: string } {
  try {
    const x509 = new X509Certificate(cert);
    return { subject: x509.subject.replace(/\n/g, ', '), expires: x509.validTo };
  } catch {
    return { subject: 'unreadable', expires: 'unknown' };
  }
}

/**
 * Calls `apply` with the new pair each time either file changes and the pair loads. Returns the
 * function that stops watching.
 */
export function watchTls(files: TlsFiles, apply: (pair: TlsPair) => void, log: Logger): () => void {
  const reload = () => {
    let pair: TlsPair;
    try {
      pair = readTls(files);
    } catch (err) {
      log.warn('tls: the changed certificate or key does not load; the previous one stays in use', { error: (err as Error).message });
      return;
    }
    apply(pair);
    log.info('tls: certificate reloaded', { file: files.cert, ...describe(pair.cert) });
  };
  const onChange = (now: { mtimeMs: number; ino: number }, before: { mtimeMs: number; ino: number }) => {
    if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino) reload();
  };
  const watched = [files.cert, files.key, ...(files.clientCa === undefined ? [] : [files.clientCa])];
  for (const file of watched) watchFile(file, { interval: POLL_MS, persistent: false }, onChange);
  return () => {
    for (const file of watched) unwatchFile(file, onChange);
  };
}
