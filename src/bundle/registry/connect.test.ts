import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/index.js';
import { registryCredentials } from './connect.js';

describe('registryCredentials', () => {
  const flags = (extra: Record<string, string> = {}) =>
    loadConfig({ env: { WEFT_REGISTRY_USERNAME: 'alice', WEFT_REGISTRY_PASSWORD: 'pw', WEFT_DOCKER_CONFIG: '/nonexistent', ...extra } });

  it('gives flag credentials to the registry a push or pull names, and to no other', () => {
    const config = flags();
    assert.deepEqual(registryCredentials('a.example', config, true), { username: 'alice', password: 'pw' });
    assert.equal(registryCredentials('a.example', config), undefined, 'a node deploying from a registry gets none');
  });

  it('gives them only to --registry-host when it is set', () => {
    const config = flags({ WEFT_REGISTRY_HOST: 'a.example' });
    assert.deepEqual(registryCredentials('a.example', config), { username: 'alice', password: 'pw' });
    assert.equal(registryCredentials('b.example', config, true), undefined);
  });

  it('falls back to the Docker config entry of that registry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-creds-'));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { 'b.example': { auth: Buffer.from('bob:secret').toString('base64') } } }));
    const config = flags({ WEFT_REGISTRY_HOST: 'a.example', WEFT_DOCKER_CONFIG: file });
    assert.deepEqual(registryCredentials('b.example', config), { username: 'bob', password: 'secret' });
    assert.equal(registryCredentials('c.example', config), undefined);
  });
});
