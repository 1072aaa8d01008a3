// A registry that answers an upload with a Location on another host must not get the registry's
// credentials sent there. docker-registry never does this, so a small hostile server plays it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { sha256 } from '../../store/index.js';
import { RegistryTarget } from './registry-target.js';

async function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('RegistryTarget credentials', () => {
  const seen: Array<{ where: string; authorization: string | undefined }> = [];
  let registry: { server: Server; port: number };
  let elsewhere: { server: Server; port: number };
  before(async () => {
    elsewhere = await listen((req, res) => {
      seen.push({ where: 'elsewhere', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => res.writeHead(201).end());
    });
    registry = await listen((req, res) => {
      seen.push({ where: 'registry', authorization: req.headers.authorization });
      if (!req.headers.authorization) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="hostile"' }).end();
        return;
      }
      // "localhost" is another host than the 127.0.0.1 the target was given.
      res.writeHead(202, { Location: `http://localhost:${elsewhere.port}/upload` }).end();
    });
  });
  after(() => {
    registry.server.close();
    elsewhere.server.close();
  });

  it('sends them to the registry and not to an upload Location on another host', async () => {
    const target = new RegistryTarget(
      { registry: `127.0.0.1:${registry.port}`, repository: 'team/x', tag: '1', digest: undefined },
      { credentials: { username: 'alice', password: 'wonderland' }, plainHttp: true, monolithicLimit: 1024, chunkSize: 1024 },
    );
    const data = Buffer.from('blob');
    await target.putBlob({ mediaType: 'application/octet-stream', digest: sha256(data), size: data.byteLength }, () => [data]);
    assert.ok(seen.some((s) => s.where === 'registry' && s.authorization?.startsWith('Basic ')), JSON.stringify(seen));
    const upload = seen.filter((s) => s.where === 'elsewhere');
    assert.equal(upload.length, 1);
    assert.equal(upload[0]!.authorization, undefined);
  });
});
