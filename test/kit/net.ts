// Loopback networking for tests: a free port for servers that cannot be told to pick one
// (nats-server, docker-registry, Prometheus take a port in their config), and a TCP link that a
// test cuts and restores to partition two servers.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

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

/** A TCP link on loopback that a test cuts and restores: a network partition between two servers. */
export interface TcpLink {
  port: number;
  /** Drops every connection through the link and refuses new ones. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function tcpLink(targetPort: number): Promise<TcpLink> {
  const sockets = new Set<Socket>();
  let up = true;
  const server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      const end = () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      };
      s.on('error', end);
      s.on('close', end);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const cut = () => {
    up = false;
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut,
    restore: () => {
      up = true;
    },
    close: async () => {
      cut();
      server.close();
      await once(server, 'close');
    },
  };
}
