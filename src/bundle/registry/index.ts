// The OCI Distribution client: references, auth and a registry repository as a Target.
export { connectRegistry } from './connect.js';
export { RegistryTarget } from './registry-target.js';
export { looksLikeRegistryReference, parseRegistryReference, refuseCredentialsInReference, formatReference } from './reference.js';
export { dockerConfigCredentials, parseChallenge } from './auth.js';
export type { RegistryOptions } from './registry-target.js';
export type { RegistryReference } from './reference.js';
export type { Credentials } from './auth.js';
