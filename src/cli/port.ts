// The port check `weft serve` makes before it deploys apps or loads models: bind the address,
// release it, and say in one line which port is taken and which flag picks another.

import { createServer } from 'node:net';
import { ErrorCode, WeftError } from '../errors.js';

export function isAddressInUse(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The flags a port comes from: the HTTP port, or the gRPC one (where 0 turns gRPC off). */
const PORT_FLAGS = {
  port: { env: 'WEFT_PORT', zero: '--port 0 picks a free one' },
  'grpc-port': { env: 'WEFT_GRPC_PORT', zero: '--grpc-port 0 turns gRPC off' },
} as const;
export type PortFlag = keyof typeof PORT_FLAGS;

export function portInUse(host: string, port: number, cause?: unknown, flag: PortFlag = 'port'): WeftError {
  const { env, zero } = PORT_FLAGS[flag];
  return new WeftError(
    ErrorCode.InvalidConfig,
    `port ${port} on ${host} is already in use by another process: stop that process, or choose another port with --${flag} N (or ${env}; ${zero})`,
    { field: flag === 'port' ? 'port' : 'grpcPort', cause },
  );
}

/**
 * Resolves when `host:port` can be listened on, and throws a one-line error when it cannot.
 * Port 0 always can. The probe closes before the node listens, so a process that takes the port
 * in between still makes the node's own listen fail: serve.ts reports that the same way.
 */
export function checkPortFree(host: string, port: number, flag: PortFlag = 'port'): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(portInUse(host, port, err, flag));
      else if (err.code === 'EACCES') reject(new WeftError(ErrorCode.InvalidConfig, `port ${port} on ${host} needs privileges this process lacks: choose a port above 1023 with --${flag} N (or ${PORT_FLAGS[flag].env})`, { field: flag === 'port' ? 'port' : 'grpcPort', cause: err }));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new WeftError(ErrorCode.InvalidConfig, `cannot listen on host ${host}: it is not an address of this machine (--host, WEFT_HOST)`, { field: 'host', cause: err }));
      else reject(err);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
