// The OCI shapes a bundle is made of (image-spec 1.1): descriptors, image manifests and
// indexes, and the media types and annotations Weft gives its app artifacts and signatures.

import { z } from 'zod';
import { ErrorCode, WeftError, firstIssue } from '../errors.js';

export const MediaType = {
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  /** The empty config `{}` of artifacts that have no config of their own (signatures). */
  Empty: 'application/vnd.oci.empty.v1+json',
  /** artifactType of an app bundle's image manifest. */
  App: 'application/vnd.weft.app.v1+json',
  /** The config blob: the app's weft.json, byte for byte. */
  AppConfig: 'application/vnd.weft.app.config.v1+json',
  ModelOnnx: 'application/vnd.weft.model.onnx.v1',
  ModelGguf: 'application/vnd.weft.model.gguf.v1',
  /** A WebAssembly component layer, as the CNCF wasm OCI artifact layout names it. */
  Wasm: 'application/wasm',
  /** artifactType of a signature manifest (a referrer whose subject is the signed manifest). */
  Signature: 'application/vnd.weft.signature.v1+json',
  SignaturePayload: 'application/vnd.weft.signature.payload.v1+json',
} as const;

export const Annotation = {
  Title: 'org.opencontainers.image.title',
  Version: 'org.opencontainers.image.version',
  Description: 'org.opencontainers.image.description',
  RefName: 'org.opencontainers.image.ref.name',
  ModelName: 'dev.weft.model.name',
  ModelFormat: 'dev.weft.model.format',
  ComponentWorld: 'dev.weft.component.world',
  Signature: 'dev.weft.signature',
  SignatureKey: 'dev.weft.signature.key',
  SignatureAlgorithm: 'dev.weft.signature.algorithm',
} as const;

/** `{}`: the empty blob image-spec 1.1 names for artifacts without a config. */
export const EMPTY_BLOB = Buffer.from('{}');
export const EMPTY_DESCRIPTOR = {
  mediaType: MediaType.Empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/** Manifests larger than this are refused before parsing (registries cap them at 4 MiB too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be a sha256 digest'),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.ImageManifest).optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.ImageIndex).optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageManifest = z.infer<typeof manifestSchema>;
export type ImageIndex = z.infer<typeof indexSchema>;

function parseJson<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string, origin: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidBundle, `${origin}: ${what} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new WeftError(ErrorCode.InvalidBundle, `${origin}: ${what}: ${field || '(root)'}: ${message}`, { field: field || undefined });
  }
  return parsed.data;
}

export function parseImageManifest(bytes: Uint8Array, origin: string): ImageManifest {
  return parseJson(manifestSchema, bytes, 'image manifest', origin);
}

export function parseImageIndex(bytes: Uint8Array, origin: string): ImageIndex {
  return parseJson(indexSchema, bytes, 'image index', origin);
}

/** JSON bytes of a manifest or index: keys in the order given, no whitespace, so equal input packs to equal digests. */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
