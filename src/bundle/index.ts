// Bundles: the app manifest, apps opened from a folder, the OCI artifact (pack, layout, copy),
// signatures, the registry client, and opening a verified bundle from the store.
export { manifestSchema, parseManifest } from './manifest.js';
export { openAppFolder, manifestFiles, readManifestFile } from './app.js';
export { Annotation, MediaType, parseImageManifest, parseImageIndex } from './oci.js';
export { OciLayout } from './layout.js';
export { StoreTarget } from './store-target.js';
export { quietProgress } from './target.js';
export { copyBundle } from './copy.js';
export { packApp } from './pack.js';
export { KeyAlgorithms, checkSignatures, generateSigningKey, keyId, loadPrivateKey, loadPublicKey, loadTrustedKeys, signBundle, signaturePayload } from './sign.js';
export { openStoredBundle } from './open.js';
export { classifyReference, loadApp, openReference, storeOf, storeTagOf } from './resolve.js';
export { connectRegistry, parseRegistryReference, formatReference, looksLikeRegistryReference, RegistryTarget } from './registry/index.js';
export type { Manifest, ManifestInput } from './manifest.js';
export type { AppBundle } from './app.js';
export type { Descriptor, ImageManifest, ImageIndex } from './oci.js';
export type { Progress, Target } from './target.js';
export type { KeyAlgorithm, SignatureCheck } from './sign.js';
export type { OpenedBundle, TrustPolicy } from './open.js';
export type { StoreTargetOptions } from './store-target.js';
export type { ReferenceKind, LoadOptions } from './resolve.js';
export type { RegistryReference } from './registry/index.js';
