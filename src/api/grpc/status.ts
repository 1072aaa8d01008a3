// The one place error codes become gRPC statuses. Each code's gRPC status follows its HTTP status
// (api/http-errors.ts owns that), with the few codes gRPC has a closer word for; the message
// starts with our stable code, and trailers carry it, the field at fault and Retry-After.

import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, toWeftError } from '../../errors.js';
import { httpStatus } from '../http-errors.js';

const BY_CODE: Partial<Record<ErrorCode, status>> = {
  QUEUE_FULL: status.RESOURCE_EXHAUSTED,
  APP_BUSY: status.RESOURCE_EXHAUSTED,
  MEMORY_BUDGET_EXCEEDED: status.RESOURCE_EXHAUSTED,
  BODY_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  QUEUE_TIMEOUT: status.DEADLINE_EXCEEDED,
  REQUEST_TIMEOUT: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  MODEL_UNAVAILABLE: status.UNAVAILABLE,
};

const BY_HTTP: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  405: status.UNIMPLEMENTED,
  409: status.ALREADY_EXISTS,
  413: status.RESOURCE_EXHAUSTED,
  415: status.INVALID_ARGUMENT,
  422: status.FAILED_PRECONDITION,
  429: status.RESOURCE_EXHAUSTED,
  499: status.CANCELLED,
  502: status.UNAVAILABLE,
  503: status.UNAVAILABLE,
  504: status.DEADLINE_EXCEEDED,
};

export function grpcStatus(code: ErrorCode): status {
  return BY_CODE[code] ?? BY_HTTP[httpStatus(code)] ?? status.INTERNAL;
}

/** Trailer keys carrying our stable code and the request field at fault. */
export const CODE_KEY = 'weft-code';
export const FIELD_KEY = 'weft-field';

/**
 * Most characters of a message or field in trailers: they travel as HTTP/2 headers, and a
 * header block too large to send left the call unanswered (a 100,000-character model name).
 */
const MAX_TRAILER_CHARS = 1024;

function bounded(text: string): string {
  return text.length <= MAX_TRAILER_CHARS ? text : `${text.slice(0, MAX_TRAILER_CHARS)}... (${text.length - MAX_TRAILER_CHARS} more characters)`;
}

/** A metadata value holds printable ASCII only (grpc-js throws on anything else): the rest becomes '?'. */
function asciiValue(text: string): string {
  return bounded(text).replace(/[^\x20-\x7e]/g, '?');
}

/** A gRPC error for any thrown value: `CODE: message`, with code, field and retry-after in trailers. */
export function serviceError(err: unknown): ServiceError {
  const e = toWeftError(err);
  const metadata = new Metadata();
  metadata.set(CODE_KEY, e.code);
  if (e.field !== undefined) metadata.set(FIELD_KEY, asciiValue(e.field));
  if (e.retryAfterSeconds !== undefined) metadata.set('retry-after', String(e.retryAfterSeconds));
  const details = bounded(`${e.code}: ${e.message}${e.field === undefined ? '' : ` (field ${e.field})`}`);
  return Object.assign(new Error(details), { code: grpcStatus(e.code), details, metadata });
}
