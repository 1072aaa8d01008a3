// HTTP frontends: KServe v2 now; apps, OpenAI-compatible and admin routes follow.
export { ApiServer } from './server.js';
export { errorResponse, httpStatus, openAiErrorResponse } from './http-errors.js';
export type { ApiServerOptions } from './server.js';
export type { ErrorBody, OpenAiErrorBody } from './http-errors.js';
