// Bundles: the app manifest and apps opened from a folder; OCI layout, signing and the registry
// client follow.
export { manifestSchema, parseManifest } from './manifest.js';
export { openAppFolder, manifestFiles } from './app.js';
export type { Manifest, ManifestInput } from './manifest.js';
export type { AppBundle } from './app.js';
