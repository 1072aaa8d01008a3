// `weft key generate`, `weft sign` and `weft verify`: PEM keys (Ed25519 or ECDSA P-256), a
// signature attached to a bundle as an OCI referrer, and checking one against a public key.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KeyAlgorithms,
  OciLayout,
  StoreTarget,
  checkSignatures,
  generateSigningKey,
  keyId,
  loadPrivateKey,
  loadPublicKey,
  loadTrustedKeys,
  openReference,
  openStoredBundle,
  parseImageManifest,
  signBundle,
  type KeyAlgorithm,
} from '../bundle/index.js';
import { ErrorCode, WeftError } from '../errors.js';
import { digestFile } from '../store/index.js';
import { commandConfig, readManifest } from './bundle-commands.js';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function keyCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'generate') throw new WeftError(ErrorCode.BadRequest, 'usage: weft key generate [--algorithm ed25519|ecdsa-p256] [-o NAME]');
  const { flags } = commandConfig(rest, { algorithm: { type: 'string' }, output: { type: 'string', short: 'o' } });
  const algorithm = (flags.algorithm ?? 'ed25519') as KeyAlgorithm;
  if (!KeyAlgorithms.includes(algorithm)) throw new WeftError(ErrorCode.BadRequest, `--algorithm must be one of ${KeyAlgorithms.join(', ')}`, { field: 'algorithm' });
  const name = (flags.output as string | undefined) ?? 'weft-signing';
  for (const file of [`${name}.key`, `${name}.pub`]) {
    if (existsSync(file)) throw new WeftError(ErrorCode.BadRequest, `${file} exists already; not overwriting a key`);
  }
  const { privatePem, publicPem } = generateSigningKey(algorithm);
  writeFileSync(`${name}.key`, privatePem, { mode: 0o600, flag: 'wx' });
  writeFileSync(`${name}.pub`, publicPem, { flag: 'wx' });
  out(`wrote ${name}.key (private, keep it secret) and ${name}.pub (give it to nodes as --trusted-keys); key id ${keyId(loadPublicKey(`${name}.pub`))}`);
}

export async function signCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, { key: { type: 'string' } });
  if (positionals.length !== 1 || flags.key === undefined) throw new WeftError(ErrorCode.BadRequest, 'usage: weft sign REF --key PRIVATE.pem');
  const key = loadPrivateKey(flags.key as string);
  const { target, reference } = openReference(positionals[0]!, config);
  const { descriptor } = await target.getManifest(reference);
  const sig = await signBundle(target, descriptor, key);
  out(`signed ${descriptor.digest} with key ${keyId(key)}: signature ${sig.digest}`);
}

export async function verifyCommand(args: string[]): Promise<void> {
  const { config, flags, positionals } = commandConfig(args, { key: { type: 'string' }, local: { type: 'boolean' } });
  if (positionals.length !== 1) throw new WeftError(ErrorCode.BadRequest, 'usage: weft verify REF [--key PUBLIC.pem] [--local]');
  const keyPath = flags.key as string | undefined;
  const keys = keyPath !== undefined ? [loadPublicKey(keyPath)] : loadTrustedKeys(config.trustedKeys);
  if (keys.length === 0) throw new WeftError(ErrorCode.BadRequest, 'weft verify needs --key PUBLIC.pem (or --trusted-keys)');
  const ref = positionals[0]!;
  const { target, descriptor, bytes } = await readManifest(ref, config, flags.local === 'true');
  if (target instanceof StoreTarget) {
    // Every blob re-hashed, and the signature checked, exactly as a node opens it.
    await openStoredBundle(target, descriptor.digest, ref, { trustedKeys: keys, allowUnsigned: false });
    out(`verified ${ref} (${descriptor.digest}), the copy in the store at ${target.store.root}: signature and every blob digest check out`);
    return;
  }
  const check = await checkSignatures(target, descriptor, keys);
  if (check.verifiedBy.length === 0) {
    throw new WeftError(ErrorCode.SignatureInvalid, `${ref} (${descriptor.digest}): no signature verifies with the given key: ${check.rejected.join('; ') || 'it carries no signature'}`);
  }
  if (target instanceof OciLayout) {
    const manifest = parseImageManifest(bytes, ref);
    for (const layer of [manifest.config, ...manifest.layers]) {
      const got = await digestFile(join(target.dir, 'blobs', 'sha256', layer.digest.slice(7)));
      if (got.digest !== layer.digest || got.size !== layer.size) throw new WeftError(ErrorCode.DigestMismatch, `${ref}: blob ${layer.digest} does not match its digest`);
    }
    out(`verified ${ref} (${descriptor.digest}), the OCI layout: signature and every blob digest check out`);
    return;
  }
  out(`verified ${ref} (${descriptor.digest}), the copy in the registry: signature checked; blob digests are checked as they are pulled (\`weft verify --local\` checks the pulled copy)`);
}
