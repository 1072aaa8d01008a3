// The one place error codes become HTTP: a status per code, and the wire body
// `{"error": message, "code": CODE, "field": path}` that KServe v2 clients expect (plus ours).

import { ErrorCode, toWeftError, type WeftError } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_TENSOR: 400,
  INVALID_DATATYPE: 400,
  INVALID_SHAPE: 400,
  DATA_SIZE_MISMATCH: 400,
  UNKNOWN_INPUT: 400,
  MISSING_INPUT: 400,
  UNKNOWN_OUTPUT: 400,
  BATCH_TOO_LARGE: 400,
  INVALID_CONFIG: 400,
  CONTEXT_LENGTH_EXCEEDED: 400,
  INVALID_MANIFEST: 400,
  INVALID_REFERENCE: 400,
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  KEY_NOT_FOUND: 404,
  JSON_TOO_DEEP: 400,
  BUNDLE_NOT_FOUND: 404,
  APP_NOT_FOUND: 404,
  APP_EXISTS: 409,
  MODEL_CONFLICT: 409,
  INVALID_BUNDLE: 422,
  DIGEST_MISMATCH: 422,
  SIGNATURE_INVALID: 422,
  REGISTRY_ERROR: 502,
  REGISTRY_UNAUTHORIZED: 502,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  TRACE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  QUEUE_FULL: 429,
  CANCELLED: 499,
  DEADLINE_EXCEEDED: 504,
  MODEL_LOAD_FAILED: 500,
  INFERENCE_FAILED: 500,
  INTERNAL: 500,
  UPSTREAM_ERROR: 502,
  UPSTREAM_UNAVAILABLE: 503,
  APP_BUSY: 429,
  COMPONENT_REFUSED: 400,
  COMPONENT_DEADLINE: 504,
  COMPONENT_TRAPPED: 500,
  COMPONENT_INVALID_RESPONSE: 502,
  APP_BAD_REQUEST: 400,
  APP_PATH_NOT_FOUND: 404,
  APP_UNPROCESSABLE: 422,
  APP_UNAVAILABLE: 503,
  APP_FAILED: 500,
  BUILD_FAILED: 400,
  MODEL_UNAVAILABLE: 503,
  MEMORY_BUDGET_EXCEEDED: 503,
  REQUEST_TIMEOUT: 408,
  QUEUE_TIMEOUT: 503,
  SHUTTING_DOWN: 503,
  SERVER_OVERLOADED: 503,
  FLEET_UNAVAILABLE: 503,
  UNSCHEDULABLE: 422,
  CONFLICT: 409,
  FORWARD_INVALID: 400,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

export interface ErrorBody {
  /** Human-readable message (the KServe v2 error field). */
  error: string;
  /** Stable error code. */
  code: ErrorCode;
  /** Request field at fault, when one is. */
  field?: string;
}

/** Status, body and headers for any thrown value. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const e: WeftError = toWeftError(err);
  const body: ErrorBody = { error: e.message, code: e.code };
  if (e.field !== undefined) body.field = e.field;
  const headers: Record<string, string> = {};
  if (e.retryAfterSeconds !== undefined) headers['Retry-After'] = String(e.retryAfterSeconds);
  if (e.allow !== undefined) headers['Allow'] = e.allow.join(', ');
  if (e.code === ErrorCode.Unauthorized) headers['WWW-Authenticate'] = 'Bearer realm="weft"';
  return { status: httpStatus(e.code), body, headers };
}

/** The OpenAI API's error object, so that OpenAI clients show our message, param and code. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** OpenAI's error `type` per HTTP status class (and its own for a spent quota). */
function openAiType(status: number, code: ErrorCode): string {
  if (code === ErrorCode.QuotaExceeded) return 'insufficient_quota';
  if (status === 429) return 'rate_limit_error';
  if (status === 404) return 'not_found_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Status, OpenAI-shaped body and headers for any thrown value (codes in OpenAI's snake case). */
export function openAiErrorResponse(err: unknown): { status: number; body: OpenAiErrorBody; headers: Record<string, string> } {
  const { status, body, headers } = errorResponse(err);
  return {
    status,
    headers,
    body: { error: { message: body.error, type: openAiType(status, body.code), param: body.field ?? null, code: body.code.toLowerCase() } },
  };
}
