// Who may call the node and how much: API keys with a tenant and scopes (keys.ts, scopes.ts), the
// one guard every API passes (middleware.ts), per-tenant limits and fair admission (limits.ts), monthly usage (usage.ts),
// and the keys' admin routes (routes.ts).

export { KeyStore, KEYS_FILE, sharedKeySchema } from './keys.js';
export { TenantLimits, refilled } from './limits.js';
export { MonthlyUsage, USAGE_FILE, monthOf, nextMonthAt } from './usage.js';
export { authMiddleware, authorize, needOf, principalOf } from './middleware.js';
export { keyRoutes } from './routes.js';
export { allows, parseScope } from './scopes.js';
export type { KeyInfo, KeyLimits, NewKey, Principal, KeyStoreOptions, SharedKey, SharedKeyRecords } from './keys.js';
export type { BucketShape, LimitsOptions, SharedBuckets, SharedInflight } from './limits.js';
export type { SharedUsage, UsageKind } from './usage.js';
export type { AuthOptions } from './middleware.js';
