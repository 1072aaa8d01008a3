// A free loopback port for servers that cannot be told to pick one themselves (nats-server,
// docker-registry, Prometheus take a port in their config).
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** `count` distinct free ports: every one is held until all are found, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map(async (s) => {
    s.close();
    await once(s, 'close');
  }));
  return ports;
}
