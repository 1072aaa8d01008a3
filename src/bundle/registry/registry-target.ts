// A repository in an OCI registry as a Target, over the Distribution API with fetch: HEAD before
// upload, cross-repository mounts, monolithic (streamed) and chunked uploads, manifests by tag and
// digest, the referrers API with the `sha256-<hex>` tag-schema fallback, Basic and Bearer auth.
// Blob bodies stream both ways, chunked uploads included: memory holds one read chunk, whatever the blob size.
// Every request goes through timed(): a head timeout and a body idle timeout (timeouts.ts).

import { ErrorCode, WeftError } from '../../errors.js';
import { sha256, type BlobSource } from '../../store/index.js';
import { MAX_MANIFEST_BYTES, MediaType, encodeJson, parseImageIndex, parseImageManifest, type Descriptor, type ImageIndex } from '../oci.js';
import { tracked, type Progress, type Target } from '../target.js';
import { basicHeader, parseChallenge, type Credentials } from './auth.js';
import { formatReference, type RegistryReference } from './reference.js';
import { DEFAULT_REGISTRY_IDLE_TIMEOUT_MS, DEFAULT_REGISTRY_TIMEOUT_MS, headTimeoutError, idleGuarded, idleTimeoutError, requestLabel, withHeadTimeout, type RegistryTimeouts } from './timeouts.js';
import { streamRequest, type StreamedResponse } from './upload-stream.js';

export interface RegistryOptions {
  credentials?: Credentials | undefined;
  /** Token services on other hosts trusted with the credentials (host or host:port). */
  tokenHosts?: readonly string[];
  /** Speak http instead of https (loopback registries and those listed as insecure). */
  plainHttp: boolean;
  /** Blobs up to this size go up in one streamed PUT; larger ones in PATCH chunks of `chunkSize`. */
  monolithicLimit: number;
  chunkSize: number;
  /** Another repository on the same registry to mount blobs from instead of uploading them. */
  mountFrom?: string | undefined;
  /** Milliseconds for a response's head: connect, request, status and headers (--registry-timeout; 0: no limit). */
  timeout?: number;
  /** Milliseconds a body, either way, may go without a byte (--registry-idle-timeout; 0: no limit). */
  idleTimeout?: number;
}

const ACCEPT = [MediaType.ImageManifest, MediaType.ImageIndex].join(', ');

async function registryError(res: { status: number; text(): Promise<string> }, what: string): Promise<WeftError> {
  const text = await res.text().catch(() => '');
  let detail = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (body.errors?.length) detail = body.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
  } catch {
    // not JSON: keep the text
  }
  if (res.status === 401 || res.status === 403) return new WeftError(ErrorCode.RegistryUnauthorized, `${what}: ${res.status} ${detail}`);
  if (res.status === 404) return new WeftError(ErrorCode.BundleNotFound, `${what}: not found (${detail})`);
  return new WeftError(ErrorCode.RegistryError, `${what}: HTTP ${res.status} ${detail}`);
}

/** Reads a byte stream in consecutive slices of given lengths, without buffering beyond one chunk. */
class SliceReader {
  private leftover: Uint8Array | undefined;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  async *take(length: number): AsyncGenerator<Uint8Array> {
    let left = length;
    while (left > 0) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (chunk === undefined) {
        const next = await this.source.next();
        if (next.done) throw new WeftError(ErrorCode.DigestMismatch, `blob source ended ${left} bytes short of its descriptor's size`);
        chunk = next.value;
      }
      if (chunk.byteLength > left) {
        this.leftover = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.byteLength;
      yield chunk;
    }
  }
}

/** A manifest or index body, refused past MAX_MANIFEST_BYTES whether or not Content-Length says so. */
async function readSmallBody(res: Response, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_MANIFEST_BYTES) {
      await res.body?.cancel();
      throw new WeftError(ErrorCode.InvalidBundle, `${what} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export class RegistryTarget implements Target {
  readonly name: string;
  private readonly base: string;
  private authorization: string | undefined;
  private readonly timeouts: RegistryTimeouts;

  constructor(
    readonly ref: RegistryReference,
    private readonly options: RegistryOptions,
  ) {
    this.name = `registry ${ref.registry}/${ref.repository}`;
    this.base = `${options.plainHttp ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}`;
    this.timeouts = { head: options.timeout ?? DEFAULT_REGISTRY_TIMEOUT_MS, idle: options.idleTimeout ?? DEFAULT_REGISTRY_IDLE_TIMEOUT_MS };
  }

  /** Who a request to `url` goes to, for messages: the registry, or the host an upload Location names. */
  private who(url: string | URL): string {
    const host = new URL(url).host;
    return host === this.ref.registry ? `registry ${this.ref.registry}` : `registry ${this.ref.registry} (at ${host})`;
  }

  /**
   * The one place a fetch to a registry or its token service happens: the response head must come
   * within the head timeout, and its body then never goes idle longer than the idle timeout; either
   * fails with REGISTRY_ERROR naming the host and the request, as an unreachable registry does.
   */
  private async timed(url: string | URL, init: RequestInit, who = this.who(url)): Promise<Response> {
    const what = requestLabel(init.method ?? 'GET', url);
    const { value: res, controller } = await withHeadTimeout(
      this.timeouts.head,
      () => headTimeoutError(who, what, this.timeouts.head),
      (c) => fetch(url, { ...init, signal: c.signal }),
    ).catch((err: unknown) => {
      if (err instanceof WeftError) throw err;
      const cause = (err as { cause?: Error }).cause;
      throw new WeftError(ErrorCode.RegistryError, `cannot reach ${who}: ${cause?.message ?? (err as Error).message}`, { cause: err });
    });
    return idleGuarded(res, this.timeouts.idle, controller, () => idleTimeoutError(who, 'sent', what, this.timeouts.idle));
  }

  /** The reference a pull resolves: the digest when given, else the tag. */
  get reference(): string {
    return this.ref.digest ?? this.ref.tag ?? 'latest';
  }

  toString(): string {
    return formatReference(this.ref);
  }

  private async authenticate(res: Response): Promise<void> {
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    const creds = this.options.credentials;
    if (challenge.scheme === 'basic') {
      if (!creds) throw new WeftError(ErrorCode.RegistryUnauthorized, `registry ${this.ref.registry} needs credentials: set --registry-username/--registry-password with --registry-host ${this.ref.registry} (WEFT_REGISTRY_USERNAME/PASSWORD/HOST) or add it to ~/.docker/config.json`);
      this.authorization = basicHeader(creds);
      return;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) {
      throw new WeftError(ErrorCode.RegistryUnauthorized, `registry ${this.ref.registry} asks for unsupported auth '${res.headers.get('www-authenticate')}'`);
    }
    const url = new URL(challenge.params.realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    if (challenge.params.scope) url.searchParams.set('scope', challenge.params.scope);
    // The realm is whatever the registry names: credentials go there only on the registry's own
    // host or one the user trusts (--registry-token-host), and over https unless the registry
    // itself is spoken to over plain http.
    const sendCreds = creds !== undefined && this.trustsRealm(url);
    const tokenRes = await this.timed(url, { headers: sendCreds ? { Authorization: basicHeader(creds) } : {} }, `token service ${url.origin}`);
    if (!tokenRes.ok) {
      const who = sendCreds
        ? `user '${creds.username}'`
        : creds
          ? `anonymous access (credentials for ${this.ref.registry} are not sent to another host or over plain http; trust this one with --registry-token-host ${url.host})`
          : 'anonymous access';
      throw new WeftError(ErrorCode.RegistryUnauthorized, `token service ${url.origin} refused ${who}: HTTP ${tokenRes.status}`);
    }
    const body = (await tokenRes.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new WeftError(ErrorCode.RegistryUnauthorized, `token service ${url.origin} returned no token`);
    this.authorization = `Bearer ${token}`;
  }

  private trustsRealm(realm: URL): boolean {
    const registry = new URL(this.base);
    const host = realm.hostname === registry.hostname || (this.options.tokenHosts ?? []).some((h) => h === realm.host || h === realm.hostname);
    return host && (realm.protocol === 'https:' || registry.protocol === 'http:');
  }

  /** The Authorization header, for the registry's own origin only (an upload Location may point elsewhere). */
  private authorizationFor(url: string | URL): Record<string, string> {
    if (!this.authorization || new URL(url).origin !== new URL(this.base).origin) return {};
    return { Authorization: this.authorization };
  }

  /** One request with a small or no body; on 401 authenticates and retries once. */
  private async request(method: string, url: string, init: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Response> {
    const send = () => {
      const headers: Record<string, string> = { ...init.headers, ...this.authorizationFor(url) };
      return this.timed(url, { method, headers, ...(init.body ? { body: init.body as unknown as BodyInit } : {}) });
    };
    let res = await send();
    if (res.status === 401) {
      await this.authenticate(res);
      await res.body?.cancel();
      res = await send();
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw new WeftError(ErrorCode.RegistryUnauthorized, `registry ${this.ref.registry} refused the credentials${this.options.credentials ? ` of user '${this.options.credentials.username}'` : ''} for ${method} ${new URL(url).pathname}`);
    }
    return res;
  }

  /** A request with a streamed body (blob uploads); authentication happened on the POST before it. */
  private async upload(method: string, url: URL, headers: Record<string, string>, body: AsyncIterable<Uint8Array>): Promise<StreamedResponse> {
    const what = requestLabel(method, url);
    const res = await streamRequest(method, url, { ...headers, ...this.authorizationFor(url) }, body, {
      head: this.timeouts.head,
      idle: this.timeouts.idle,
      onHead: () => headTimeoutError(this.who(url), what, this.timeouts.head),
      onIdle: () => idleTimeoutError(this.who(url), 'took', what, this.timeouts.idle),
    }).catch((err: unknown) => {
      if (err instanceof WeftError && err.code === ErrorCode.RegistryError) throw err;
      throw new WeftError(ErrorCode.RegistryError, `cannot upload to ${this.who(url)}: ${(err as Error).message}`, { cause: err });
    });
    if (res.status === 401) throw new WeftError(ErrorCode.RegistryUnauthorized, `registry ${this.ref.registry} refused the upload to ${url.pathname}`);
    return res;
  }

  async getManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const res = await this.request('GET', `${this.base}/manifests/${reference}`, { headers: { Accept: ACCEPT } });
    if (!res.ok) throw await registryError(res, `${this.name}: manifest '${reference}'`);
    const bytes = await readSmallBody(res, `${this.name}: manifest '${reference}'`);
    const digest = sha256(bytes);
    const claimed = reference.startsWith('sha256:') ? reference : res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) {
      throw new WeftError(ErrorCode.DigestMismatch, `${this.name}: manifest '${reference}' does not match its digest (got ${digest}, expected ${claimed})`);
    }
    const mediaType = (res.headers.get('content-type') ?? MediaType.ImageManifest).split(';')[0]!.trim();
    return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes };
  }

  async openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request('GET', `${this.base}/blobs/${descriptor.digest}`);
    if (!res.ok || !res.body) throw await registryError(res, `${this.name}: blob ${descriptor.digest}`);
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const res = await this.request('HEAD', `${this.base}/blobs/${descriptor.digest}`);
    if (res.status === 404) return false;
    if (!res.ok) throw await registryError(res, `${this.name}: HEAD blob ${descriptor.digest}`);
    return true;
  }

  private location(res: { headers: Headers }): URL {
    const loc = res.headers.get('location');
    if (!loc) throw new WeftError(ErrorCode.RegistryError, `${this.name}: upload response without a Location header`);
    return new URL(loc, this.base);
  }

  /** Starts an upload session, or mounts the blob from `mountFrom` (then returns undefined). */
  private async startUpload(descriptor: Descriptor): Promise<URL | undefined> {
    const url = new URL(`${this.base}/blobs/uploads/`);
    if (this.options.mountFrom && this.options.mountFrom !== this.ref.repository) {
      url.searchParams.set('mount', descriptor.digest);
      url.searchParams.set('from', this.options.mountFrom);
    }
    const res = await this.request('POST', url.href, { headers: { 'Content-Length': '0' } });
    if (res.status === 201) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 202) throw await registryError(res, `${this.name}: starting the upload of ${descriptor.digest}`);
    await res.body?.cancel();
    return this.location(res);
  }

  async putBlob(descriptor: Descriptor, source: BlobSource, progress?: Progress): Promise<void> {
    const what = `${this.name}: upload of ${descriptor.digest}`;
    let url = await this.startUpload(descriptor);
    const transfer = tracked(descriptor, source, progress);
    if (url === undefined) {
      transfer.done('mounted');
      return;
    }
    const counted = transfer.source;
    if (descriptor.size <= this.options.monolithicLimit) {
      url.searchParams.set('digest', descriptor.digest);
      const res = await this.upload('PUT', url, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(descriptor.size) }, counted());
      if (res.status !== 201) throw await registryError(res, what);
    } else {
      // Each PATCH body streams its slice straight from the source: memory holds one read chunk.
      const reader = new SliceReader(counted()[Symbol.asyncIterator]());
      for (let offset = 0; offset < descriptor.size; offset += this.options.chunkSize) {
        const length = Math.min(this.options.chunkSize, descriptor.size - offset);
        const res = await this.upload(
          'PATCH',
          url,
          { 'Content-Type': 'application/octet-stream', 'Content-Length': String(length), 'Content-Range': `${offset}-${offset + length - 1}` },
          reader.take(length),
        );
        if (res.status !== 202) throw await registryError(res, what);
        url = this.location(res);
      }
      url.searchParams.set('digest', descriptor.digest);
      const res = await this.request('PUT', url.href, { headers: { 'Content-Length': '0' } });
      if (res.status !== 201) throw await registryError(res, what);
      await res.body?.cancel();
    }
    transfer.done();
  }

  private async putManifestAt(reference: string, mediaType: string, bytes: Buffer): Promise<Response> {
    const res = await this.request('PUT', `${this.base}/manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
    if (res.status !== 201) throw await registryError(res, `${this.name}: putting manifest ${reference}`);
    await res.body?.cancel();
    return res;
  }

  async putManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    const res = await this.putManifestAt(descriptor.digest, descriptor.mediaType, bytes);
    const manifest = descriptor.mediaType === MediaType.ImageManifest ? parseImageManifest(bytes, this.name) : undefined;
    // A registry with the referrers API says so with OCI-Subject; otherwise keep the fallback index.
    if (manifest?.subject && !res.headers.get('oci-subject')) {
      await this.addToFallbackIndex(manifest.subject.digest, {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(manifest.artifactType ? { artifactType: manifest.artifactType } : {}),
        ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
      });
    }
  }

  private fallbackTag(subject: string): string {
    return subject.replace(':', '-');
  }

  private async fallbackIndex(subject: string): Promise<ImageIndex | undefined> {
    const res = await this.request('GET', `${this.base}/manifests/${this.fallbackTag(subject)}`, { headers: { Accept: MediaType.ImageIndex } });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw await registryError(res, `${this.name}: referrers tag of ${subject}`);
    return parseImageIndex(await readSmallBody(res, `${this.name}: referrers tag of ${subject}`), `${this.name}: referrers tag of ${subject}`);
  }

  private async addToFallbackIndex(subject: string, referrer: Descriptor): Promise<void> {
    const index = (await this.fallbackIndex(subject)) ?? { schemaVersion: 2 as const, mediaType: MediaType.ImageIndex, manifests: [] };
    if (index.manifests.some((m) => m.digest === referrer.digest)) return;
    index.manifests.push(referrer);
    await this.putManifestAt(this.fallbackTag(subject), MediaType.ImageIndex, encodeJson(index));
  }

  async tag(descriptor: Descriptor, bytes: Buffer, tag: string): Promise<void> {
    await this.putManifestAt(tag, descriptor.mediaType, bytes);
  }

  async referrers(subject: Descriptor): Promise<Descriptor[]> {
    const res = await this.request('GET', `${this.base}/referrers/${subject.digest}`, { headers: { Accept: MediaType.ImageIndex } });
    if (res.ok) return parseImageIndex(await readSmallBody(res, `${this.name}: referrers of ${subject.digest}`), `${this.name}: referrers of ${subject.digest}`).manifests;
    if (res.status !== 404) throw await registryError(res, `${this.name}: referrers of ${subject.digest}`);
    await res.body?.cancel();
    return (await this.fallbackIndex(subject.digest))?.manifests ?? [];
  }
}
