// Opening an app folder: the manifest is validated, every named file must be inside the folder,
// and only files the manifest names can be resolved.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../errors.js';
import { openAppFolder } from './app.js';

it('opens an app folder, resolves only the files its manifest names, and refuses missing ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-app-'));
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models', 'm.onnx'), 'weights');
  writeFileSync(join(dir, 'weft.json'), JSON.stringify({ name: 'demo', version: '1.0.0', models: [{ name: 'm', file: 'models/m.onnx' }] }));
  const app = openAppFolder(dir);
  assert.equal(app.manifest.name, 'demo');
  assert.match(app.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(app.filePath('models/m.onnx'), join(dir, 'models', 'm.onnx'));
  assert.throws(() => app.filePath('weft.json'), { code: ErrorCode.InvalidManifest });

  writeFileSync(join(dir, 'weft.json'), JSON.stringify({ name: 'demo', version: '1.0.0', models: [{ name: 'm', file: 'models/gone.onnx' }] }));
  assert.throws(() => openAppFolder(dir), /names 'models\/gone.onnx', which is not a file/);
  assert.throws(() => openAppFolder(join(dir, 'models')), /no weft.json/);
});
