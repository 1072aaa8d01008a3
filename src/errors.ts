// The error family: every failure a user can see carries a stable code and, where a request
// field is at fault, that field's path. HTTP statuses are assigned once, in api/.

export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  InvalidJson: 'INVALID_JSON',
  InvalidTensor: 'INVALID_TENSOR',
  InvalidDatatype: 'INVALID_DATATYPE',
  InvalidShape: 'INVALID_SHAPE',
  DataSizeMismatch: 'DATA_SIZE_MISMATCH',
  UnknownInput: 'UNKNOWN_INPUT',
  MissingInput: 'MISSING_INPUT',
  UnknownOutput: 'UNKNOWN_OUTPUT',
  BatchTooLarge: 'BATCH_TOO_LARGE',
  BodyTooLarge: 'BODY_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  ModelNotFound: 'MODEL_NOT_FOUND',
  VersionNotFound: 'VERSION_NOT_FOUND',
  RouteNotFound: 'ROUTE_NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  ModelUnavailable: 'MODEL_UNAVAILABLE',
  ModelLoadFailed: 'MODEL_LOAD_FAILED',
  MemoryBudgetExceeded: 'MEMORY_BUDGET_EXCEEDED',
  QueueFull: 'QUEUE_FULL',
  QueueTimeout: 'QUEUE_TIMEOUT',
  Cancelled: 'CANCELLED',
  /** A forwarded request's deadline (`x-weft-deadline`) passed before it was answered. */
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  /** A client took longer than --request-timeout to send its whole request (gRPC; Node answers HTTP's 408 itself). */
  RequestTimeout: 'REQUEST_TIMEOUT',
  ShuttingDown: 'SHUTTING_DOWN',
  /** The node holds as many large request bodies as --max-body-memory allows. */
  ServerOverloaded: 'SERVER_OVERLOADED',
  InferenceFailed: 'INFERENCE_FAILED',
  ContextLengthExceeded: 'CONTEXT_LENGTH_EXCEEDED',
  UpstreamUnavailable: 'UPSTREAM_UNAVAILABLE',
  UpstreamError: 'UPSTREAM_ERROR',
  InvalidConfig: 'INVALID_CONFIG',
  InvalidManifest: 'INVALID_MANIFEST',
  InvalidReference: 'INVALID_REFERENCE',
  InvalidBundle: 'INVALID_BUNDLE',
  BundleNotFound: 'BUNDLE_NOT_FOUND',
  DigestMismatch: 'DIGEST_MISMATCH',
  SignatureInvalid: 'SIGNATURE_INVALID',
  RegistryError: 'REGISTRY_ERROR',
  RegistryUnauthorized: 'REGISTRY_UNAUTHORIZED',
  AppNotFound: 'APP_NOT_FOUND',
  AppExists: 'APP_EXISTS',
  ModelConflict: 'MODEL_CONFLICT',
  Forbidden: 'FORBIDDEN',
  /** No API key, or one the node does not know (or expired). */
  Unauthorized: 'UNAUTHORIZED',
  /** A tenant's request rate or concurrency limit. */
  RateLimited: 'RATE_LIMITED',
  /** A tenant's monthly token or joule budget is spent. */
  QuotaExceeded: 'QUOTA_EXCEEDED',
  KeyNotFound: 'KEY_NOT_FOUND',
  /** A request body nested deeper than the node walks. */
  JsonTooDeep: 'JSON_TOO_DEEP',
  AppBusy: 'APP_BUSY',
  ComponentRefused: 'COMPONENT_REFUSED',
  ComponentDeadline: 'COMPONENT_DEADLINE',
  ComponentTrapped: 'COMPONENT_TRAPPED',
  ComponentInvalidResponse: 'COMPONENT_INVALID_RESPONSE',
  AppBadRequest: 'APP_BAD_REQUEST',
  AppPathNotFound: 'APP_PATH_NOT_FOUND',
  TraceNotFound: 'TRACE_NOT_FOUND',
  AppUnprocessable: 'APP_UNPROCESSABLE',
  AppUnavailable: 'APP_UNAVAILABLE',
  AppFailed: 'APP_FAILED',
  FleetUnavailable: 'FLEET_UNAVAILABLE',
  Unschedulable: 'UNSCHEDULABLE',
  Conflict: 'CONFLICT',
  /** A message on a node's fleet `infer` subject that is not a well-formed forward. */
  ForwardInvalid: 'FORWARD_INVALID',
  /** `weft build`: the compiler or componentizer failed, or the built component breaks the world. */
  BuildFailed: 'BUILD_FAILED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface WeftErrorOptions {
  /** Path of the request or config field at fault, e.g. `inputs[0].shape`. */
  field?: string;
  /** Seconds a client should wait before retrying (back-pressure errors). */
  retryAfterSeconds?: number;
  /** METHOD_NOT_ALLOWED: the methods the resource accepts (the Allow header). */
  allow?: readonly string[];
  cause?: unknown;
}

export class WeftError extends Error {
  override name = 'WeftError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly allow: readonly string[] | undefined;

  constructor(code: ErrorCode, message: string, options: WeftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.allow = options.allow;
  }
}

/** Back-pressure: a bounded queue is full. Raised at once, never after waiting. */
export class QueueFullError extends WeftError {
  override name = 'QueueFullError';
  constructor(model: string, capacity: number, retryAfterSeconds: number) {
    super(ErrorCode.QueueFull, `queue of model '${model}' is full (${capacity} waiting); retry later`, {
      retryAfterSeconds,
    });
  }
}

/** Wraps anything thrown into a WeftError, keeping the original as `cause`. */
export function toWeftError(err: unknown, fallback: ErrorCode = ErrorCode.Internal): WeftError {
  if (err instanceof WeftError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WeftError(fallback, message, { cause: err });
}

/**
 * The first problem a schema found, with the path of the field at fault written as a caller
 * writes it (`messages[0].content`; '' for the root): every zod-validated input reports alike.
 */
export function firstIssue(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${String(k)}` : String(k)), '');
  return { field, message: issue.message };
}

/** The one error a call ends with when its caller went away (an aborted signal): 499 over HTTP. */
export function cancelledError(cause?: unknown): WeftError {
  return new WeftError(ErrorCode.Cancelled, 'the client cancelled the request', cause === undefined ? undefined : { cause });
}

/**
 * The error a call ends with when its signal aborted: a deadline's timeout signal (a forwarded
 * request's `x-weft-deadline`) is 504 DEADLINE_EXCEEDED, anything else a caller gone away.
 */
export function abortError(signal: AbortSignal | undefined, cause?: unknown): WeftError {
  if ((signal?.reason as { name?: unknown } | undefined)?.name === 'TimeoutError') {
    return new WeftError(ErrorCode.DeadlineExceeded, 'the request\'s deadline passed before it was answered', cause === undefined ? undefined : { cause });
  }
  return cancelledError(cause);
}
