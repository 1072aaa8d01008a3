// Reads a JSON request body for the routes that take one (admin, fleet, OpenAI, KServe, and the
// JSON header of a binary KServe body), so a body that is not JSON is one error everywhere: 400
// INVALID_JSON with the parser's reason and where it failed. Its
// nesting is bounded before it is parsed: code that walks a parsed body (tensor data, JSON
// schemas) recurses, and 4,000 levels of `[` would otherwise overflow the stack (a 500).
import type { Context, MiddlewareHandler } from 'hono';
import { ErrorCode, WeftError } from '../errors.js';
import { readBody } from './request-body.js';

/** Deepest nesting of arrays and objects a request body may have by default (tensor data needs a few; --max-json-depth). */
export const MAX_JSON_DEPTH = 64;

const JSON_DEPTH = 'weft.maxJsonDepth';

/** Makes `maxDepth` the bound for every JSON body read on this server. */
export function jsonDepthLimit(maxDepth: number): MiddlewareHandler {
  return async (c, next) => {
    c.set(JSON_DEPTH as never, maxDepth as never);
    await next();
  };
}

/** The nesting bound of this request's JSON body. */
export function jsonDepthOf(c: Context): number {
  return (c.get(JSON_DEPTH as never) as number | undefined) ?? MAX_JSON_DEPTH;
}

/** Refuses text nested deeper than `max` levels, counting brackets outside strings. */
export function checkJsonDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) throw new WeftError(ErrorCode.JsonTooDeep, `the request JSON is nested deeper than ${max} levels`, { field: 'body' });
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
}

/** Parses request JSON within the nesting bound: INVALID_JSON (with the line and column) or JSON_TOO_DEEP. */
export function parseJsonText(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  checkJsonDepth(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidJson, `the request is not valid JSON: ${whereParsingFailed(err, text)}`, { cause: err });
  }
}

// V8 reports a character offset ("at position 42") for most errors; a line and column are easier
// to find in a pretty-printed body, so they are added when V8 has not already given them.
function whereParsingFailed(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined || message.includes('(line')) return message;
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line} column ${column})`;
}

/** The request's JSON body; with `allowEmpty`, undefined for a blank one. */
export async function readJsonBody(c: Context, options: { allowEmpty?: boolean } = {}): Promise<unknown> {
  const text = utf8Text(await readBody(c));
  if (options.allowEmpty && text.trim() === '') return undefined;
  return parseJsonText(text, jsonDepthOf(c));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON body's text; bytes that are not UTF-8 are refused, never replaced (RFC 8259 §8.1). */
function utf8Text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidJson, 'the request JSON is not valid UTF-8', { cause: err });
  }
}

/** Parses JSON from bytes (a body, or the JSON head of a KServe binary body). */
export function parseJsonBytes(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): unknown {
  return parseJsonText(utf8Text(bytes), maxDepth);
}
