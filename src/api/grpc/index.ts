// The Open Inference Protocol over gRPC: the service, its codec and its status mapping.
export { GrpcServer, PROTO_LOADER_OPTIONS, PROTO_PATH } from './server.js';
export { grpcStatus } from './status.js';
export type { GrpcServerOptions } from './server.js';
