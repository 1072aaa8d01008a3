// Telemetry: logging now; tracing, metrics and energy follow.
export { createLogger, LogLevels } from './log.js';
export type { Logger, LogLevel } from './log.js';
