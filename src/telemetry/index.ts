// Telemetry: logging, tracing (OpenTelemetry, GenAI conventions), Prometheus metrics, energy
// meters, sampling, per-caller aggregates and content redaction. See docs/telemetry.md.
export { createLogger, LogLevels, occasionalWarning } from './log.js';
export { Telemetry, APP_OPERATION } from './telemetry.js';
export { callerId, loadCallerSecret, CALLER_SECRET_FILE } from './callers.js';
export { RequestScope } from './request-scope.js';
export { parseTraceParent, formatTraceParent } from './traceparent.js';
export { redact, createRedactor, withoutUrlCredentials } from './redact.js';
export { EnergySources, IDLE } from './energy/index.js';
export { KeptTraces, KEPT_TRACES } from './kept-traces.js';
export type { Logger, LogLevel } from './log.js';
export type { AdminStats, BatchMember, CallerName, EngineObserver, RequestInfo, TelemetryOptions } from './telemetry.js';
export type { ChildSpan, ModelCallResult } from './request-scope.js';
export type { EnergyDevice, EnergySource, Spawner } from './energy/index.js';
export { percentile } from './stats.js';
export type { KeyStats } from './stats.js';
export type { LanguageModelLoad, MetricsCompat } from './metrics.js';
export type { KeptSpan, KeptTrace, KeptTraceSummary } from './kept-traces.js';
export type { CallerTotals } from './callers.js';
