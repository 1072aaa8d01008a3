// A small structured logger: one line per event on stderr, `key=value` fields after the message,
// filtered by level. Payloads (tensors, bodies) are never passed to it.

export const LogLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface Logger {
  debug(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  error(message: string, fields?: object): void;
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = LogLevels.indexOf(level);
  const emit = (at: LogLevel) => (message: string, fields?: object) => {
    if (LogLevels.indexOf(at) < threshold) return;
    const extra = Object.entries(fields ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}=${formatValue(v)}`)
      .join('');
    write(`${new Date().toISOString()} ${at.toUpperCase()} ${message}${extra}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

const WARN_EVERY_MS = 10_000;

/** A warning said at most every 10 s, with how many times it happened meanwhile: for what a flood repeats. */
export function occasionalWarning(log: Logger, message: string, fields: Record<string, unknown>): () => void {
  let since = 0;
  let warnedAt = -Infinity;
  return () => {
    since++;
    if (performance.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = performance.now();
    log.warn(message, { ...fields, since_last_warning: since });
    since = 0;
  };
}
