// Bundles: the app manifest now; OCI layout, signing and the registry client follow.
export { manifestSchema, parseManifest } from './manifest.js';
export type { Manifest, ManifestInput } from './manifest.js';
