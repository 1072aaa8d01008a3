// Registry references as other OCI tools write them: `host[:port]/repo/path[:tag][@sha256:…]`.
// The first part must look like a host (a dot, a port, or `localhost`) so `ocr:1.0` stays a
// store tag and never reaches the network.

import { ErrorCode, WeftError } from '../../errors.js';

export interface RegistryReference {
  /** `host` or `host:port`. */
  registry: string;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function looksLikeRegistryReference(ref: string): boolean {
  const slash = ref.indexOf('/');
  if (slash <= 0) return false;
  const host = ref.slice(0, slash);
  return host.includes('.') || host.includes(':') || host === 'localhost';
}

/** Refuses `user:password@host/…`: credentials in a reference would be echoed in errors, logs and the store's tags. */
export function refuseCredentialsInReference(ref: string): void {
  const slash = ref.indexOf('/');
  if (slash > 0 && ref.slice(0, slash).includes('@')) {
    throw new WeftError(
      ErrorCode.InvalidReference,
      `a registry reference carries no credentials ('${ref.slice(ref.indexOf('@') + 1)}' was given with a user and password, not shown): use --registry-username/--registry-password with --registry-host, or the Docker config's auths`,
    );
  }
}

export function parseRegistryReference(ref: string): RegistryReference {
  refuseCredentialsInReference(ref);
  const bad = (why: string) => new WeftError(ErrorCode.InvalidReference, `'${ref}' is not a registry reference (host[:port]/repository[:tag][@digest]): ${why}`);
  if (!looksLikeRegistryReference(ref)) throw bad('it must start with a registry host');
  const slash = ref.indexOf('/');
  const registry = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw bad(`'${digest}' is not a sha256 digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`'${tag}' is not a valid tag`);
  }
  if (!REPO.test(rest)) throw bad(`'${rest}' is not a valid repository name`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, tag, digest };
}

export function formatReference(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
