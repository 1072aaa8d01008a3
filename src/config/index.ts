// Node configuration: one registry of settings, parsed once into a frozen object.
export { settings } from './settings.js';
export { loadConfig, parseBytes, parseDuration, formatBytes, SIZE_PATTERN, DURATION_PATTERN } from './parse.js';
export type { Setting, SettingKey } from './settings.js';
export type { NodeConfig, ConfigSources } from './parse.js';
