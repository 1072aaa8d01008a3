// Frontends: KServe v2 over HTTP and gRPC, OpenAI-compatible, apps and admin routes.
export { ApiServer } from './server.js';
export { ConnectionLimit } from './connection-limit.js';
export { StallWatch } from './stalled-answers.js';
export { GrpcServer } from './grpc/index.js';
export { errorResponse, httpStatus, openAiErrorResponse } from './http-errors.js';
export { readTls, watchTls } from './tls.js';
export type { ApiServerOptions } from './server.js';
export type { GrpcServerOptions } from './grpc/index.js';
export type { ErrorBody, OpenAiErrorBody } from './http-errors.js';
