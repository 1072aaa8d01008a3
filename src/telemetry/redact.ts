// Content capture: prompts, completions and bodies are recorded only when the operator turns
// capture on, and then with e-mail addresses, API keys, card numbers and configured patterns
// replaced, and cut to a bounded length.

import { ErrorCode, WeftError } from '../errors.js';

/** Longest captured text, so one huge prompt cannot bloat a span. */
const MAX_CAPTURE_CHARS = 4096;

const BUILT_IN: ReadonlyArray<readonly [string, RegExp]> = [
  ['email', /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g],
  // Bearer tokens, OpenAI/Anthropic-style secret keys, AWS access key ids, GitHub tokens.
  ['key', /\b(?:Bearer\s+[A-Za-z0-9._~+/=-]{8,}|sk-[A-Za-z0-9_-]{8,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,})/g],
  ['card', /\b(?:\d[ -]?){12,18}\d\b/g],
];

export interface Redactor {
  /** Redacted, bounded text when capture is on; undefined when it is off. */
  capture(text: string): string | undefined;
}

/** True when the digits pass the Luhn check that card numbers carry. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function redact(text: string, extra: readonly RegExp[] = []): string {
  let out = text;
  for (const [kind, pattern] of BUILT_IN) {
    out = out.replace(pattern, (match) => {
      if (kind === 'card' && !luhn(match.replace(/[ -]/g, ''))) return match;
      return `[REDACTED:${kind}]`;
    });
  }
  for (const pattern of extra) out = out.replace(pattern, '[REDACTED]');
  return out;
}

/** `scheme://user:password@host` with the userinfo hidden, wherever it appears in the text (a NATS URL list, an error). */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s,]*@/gi, '$1***@');
}

export function createRedactor(enabled: boolean, patterns: readonly string[] = []): Redactor {
  const extra = patterns.map((source) => {
    try {
      return new RegExp(source, 'g');
    } catch (err) {
      throw new WeftError(ErrorCode.InvalidConfig, `redact pattern '${source}' is not a valid regular expression: ${(err as Error).message}`, {
        field: 'redactPatterns',
        cause: err,
      });
    }
  });
  if (!enabled) return { capture: () => undefined };
  return {
    capture: (text) => {
      const cut = text.length > MAX_CAPTURE_CHARS ? `${text.slice(0, MAX_CAPTURE_CHARS)}…` : text;
      return redact(cut, extra);
    },
  };
}
