// Signatures: what is signed is a small JSON payload naming the signed manifest's media type,
// digest and size — the manifest digest pins every blob of the bundle. The payload travels as
// the one layer of a signature artifact whose `subject` is the signed manifest (an OCI 1.1
// referrer); the signature itself, the key id and the algorithm are annotations on it.

import { createPublicKey, generateKeyPairSync, sign, verify, createPrivateKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import { sha256 } from '../store/index.js';
import { Annotation, EMPTY_BLOB, EMPTY_DESCRIPTOR, encodeJson, MediaType, parseImageManifest, type Descriptor, type ImageManifest } from './oci.js';
import type { Target } from './target.js';

export const KeyAlgorithms = ['ed25519', 'ecdsa-p256'] as const;
export type KeyAlgorithm = (typeof KeyAlgorithms)[number];

const PAYLOAD_TYPE = 'weft.signature.v1';

export function generateSigningKey(algorithm: KeyAlgorithm): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A key's id: the sha256 of its public key (SPKI, DER), the same for the private and public halves. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256(pub.export({ type: 'spki', format: 'der' }));
}

function algorithmOf(key: KeyObject): { name: string; hash: string | null } {
  if (key.asymmetricKeyType === 'ed25519') return { name: 'ed25519', hash: null };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { name: 'ecdsa-p256-sha256', hash: 'sha256' };
  throw new WeftError(ErrorCode.InvalidConfig, `unsupported key type '${key.asymmetricKeyType}': use Ed25519 or ECDSA P-256 (\`weft key generate\`)`);
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `cannot read key file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function loadPrivateKey(path: string): KeyObject {
  try {
    const key = createPrivateKey(readPem(path));
    algorithmOf(key);
    return key;
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw new WeftError(ErrorCode.InvalidConfig, `${path} is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
}

export function loadPublicKey(path: string): KeyObject {
  try {
    const key = createPublicKey(readPem(path));
    algorithmOf(key);
    return key;
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw new WeftError(ErrorCode.InvalidConfig, `${path} is not a PEM public key: ${(err as Error).message}`, { cause: err });
  }
}

/** The node's trusted keys: PEM files, or folders whose *.pem / *.pub files are read. */
export function loadTrustedKeys(paths: readonly string[]): KeyObject[] {
  const files = paths.flatMap((path) => {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new WeftError(ErrorCode.InvalidConfig, `trusted key ${path} does not exist`, { field: 'trustedKeys', cause: err });
    }
    return isDir ? readdirSync(path).filter((f) => /\.(pem|pub)$/.test(f)).sort().map((f) => join(path, f)) : [path];
  });
  return files.map(loadPublicKey);
}

/** The bytes that are signed: fixed key order, so every signer and verifier agrees on them. */
export function signaturePayload(subject: Descriptor): Buffer {
  return encodeJson({ type: PAYLOAD_TYPE, subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } });
}

/** Signs `subject` (a manifest descriptor) and attaches the signature to it in `target`. */
export async function signBundle(target: Target, subject: Descriptor, key: KeyObject): Promise<Descriptor> {
  const { name, hash } = algorithmOf(key);
  const payload = signaturePayload(subject);
  const signature = sign(hash, payload, key).toString('base64');
  const layer: Descriptor = { mediaType: MediaType.SignaturePayload, digest: sha256(payload), size: payload.byteLength };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    artifactType: MediaType.Signature,
    config: { ...EMPTY_DESCRIPTOR },
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { [Annotation.Signature]: signature, [Annotation.SignatureKey]: keyId(key), [Annotation.SignatureAlgorithm]: name },
  };
  const bytes = encodeJson(manifest);
  const descriptor: Descriptor = { mediaType: MediaType.ImageManifest, digest: sha256(bytes), size: bytes.byteLength, artifactType: MediaType.Signature };
  await target.putBlob(EMPTY_DESCRIPTOR, () => [EMPTY_BLOB]);
  await target.putBlob(layer, () => [payload]);
  await target.putManifest(descriptor, bytes);
  return descriptor;
}

export interface SignatureCheck {
  /** Key ids of trusted keys whose signatures verify. */
  verifiedBy: string[];
  /** Why each other signature was not accepted. */
  rejected: string[];
}

/** Checks every signature attached to `subject` in `target` against `keys`. */
export async function checkSignatures(target: Target, subject: Descriptor, keys: readonly KeyObject[]): Promise<SignatureCheck> {
  const result: SignatureCheck = { verifiedBy: [], rejected: [] };
  const trusted = new Map(keys.map((k) => [keyId(k), k]));
  for (const ref of await target.referrers(subject)) {
    if (ref.artifactType !== MediaType.Signature) continue;
    const { bytes } = await target.getManifest(ref.digest);
    const m = parseImageManifest(bytes, target.name);
    const id = m.annotations?.[Annotation.SignatureKey] ?? '(no key id)';
    const key = trusted.get(id);
    if (key === undefined) {
      result.rejected.push(`signature ${ref.digest.slice(0, 19)} is by key ${id}, which is not trusted`);
      continue;
    }
    const layer = m.layers[0];
    if (m.subject?.digest !== subject.digest || layer?.mediaType !== MediaType.SignaturePayload || layer.size > 64 * 1024) {
      result.rejected.push(`signature ${ref.digest.slice(0, 19)} is malformed`);
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await target.openBlob(layer)) chunks.push(Buffer.from(chunk));
    const payload = Buffer.concat(chunks);
    const expected = signaturePayload(subject);
    if (sha256(payload) !== layer.digest || !payload.equals(expected)) {
      result.rejected.push(`signature ${ref.digest.slice(0, 19)}: its payload does not name manifest ${subject.digest}`);
      continue;
    }
    const { hash } = algorithmOf(key);
    const ok = verify(hash, payload, key, Buffer.from(m.annotations?.[Annotation.Signature] ?? '', 'base64'));
    if (ok) result.verifiedBy.push(id);
    else result.rejected.push(`signature ${ref.digest.slice(0, 19)} by key ${id} does not verify`);
  }
  return result;
}
