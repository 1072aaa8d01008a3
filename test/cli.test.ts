// End to end: the `weft` command as a user types it — single-model serving, eager loading,
// `weft config`, --help on every command, clear one-line errors for bad flags, bad model paths
// and a busy port, and a node started through npm that still drains on SIGTERM.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWeft, postJson } from './kit/weft-process.js';
import { writeTestModels } from './kit/models.js';
import { settings } from '../src/config/index.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function weft(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

it('serves a single NAME=PATH model, loaded eagerly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
  await writeTestModels(dir);
  const node = await startWeft(['--model', `adder=${join(dir, 'sum_two', '1', 'model.onnx')}`, '--load', 'eager']);
  try {
    const index = await postJson(`${node.url}/v2/repository/index`, {});
    assert.deepEqual(index.body, [{ name: 'adder', version: '1', state: 'READY', reason: '' }]);
    const res = await postJson(`${node.url}/v2/models/adder/infer`, {
      inputs: [
        { name: 'a', datatype: 'INT32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'INT32', shape: [1, 2], data: [3, 4] },
      ],
      outputs: [{ name: 'sum' }],
    });
    assert.deepEqual(res.body.outputs[0].data, [4, 6]);
  } finally {
    assert.equal(await node.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

it('prints every setting with `weft config`', () => {
  const out = weft('config', '--port', '9999');
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /--max-batch-size {2}WEFT_MAX_BATCH_SIZE/);
  assert.match(out.stdout, /port\n.*\n {2}value: 9999/);
});

it('refuses bad flags and missing model files with one clear line', () => {
  const unknown = weft('serve', '--prot', '1');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /INVALID_CONFIG: .*--prot/);
  const missing = weft('serve', '--model', 'x=/no/such/model.onnx');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /INVALID_CONFIG: --model x=\/no\/such\/model.onnx: no such file/);
  const badValue = weft('serve', '--max-batch-size', 'many');
  assert.match(badValue.stderr, /'many' is not an integer/);
});

it('answers --help and -h for every command, listing every setting for serve and config', () => {
  const top = weft('--help');
  assert.equal(top.status, 0, top.stderr);
  const names = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  for (const command of ['serve', 'pack', 'inspect', 'push', 'pull', 'ls', 'rm', 'gc', 'key', 'sign', 'verify', 'config', 'bench', 'top']) {
    assert.ok(names.includes(command), `weft --help lists ${command}`);
  }
  for (const command of names) {
    // -h on a few: each run starts a process, and the machine may be busy.
    for (const flag of ['serve', 'pull', 'bench'].includes(command) ? ['--help', '-h'] : ['--help']) {
      const out = weft(command, flag);
      assert.equal(out.status, 0, `weft ${command} ${flag}: ${out.stderr}`);
      assert.match(out.stdout, new RegExp(`^Usage:\\n {2}weft ${command}`), `weft ${command} ${flag}`);
    }
  }
  const key = weft('key', 'generate', '--help');
  assert.match(key.stdout, /--algorithm/);
  for (const command of ['serve', 'config']) {
    // Wrapped lines joined back, so a description broken across lines still reads as one.
    const help = weft(command, '--help').stdout.replace(/\s+/g, ' ');
    for (const s of settings) {
      assert.ok(help.includes(`--${s.flag}`) && help.includes(s.env) && help.includes(`file key "${s.key}"`), `weft ${command} --help describes --${s.flag}`);
    }
  }
});

it('refuses a busy port in one line naming it and --port, before loading anything', async () => {
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const { port } = busy.address() as AddressInfo;
  try {
    // Eager loading of the embedded models and app would take seconds and log lines first.
    const out = weft('serve', '--port', String(port), '--load', 'eager');
    assert.equal(out.status, 1);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    assert.match(out.stderr, new RegExp(`^weft: INVALID_CONFIG: port ${port} on 127\\.0\\.0\\.1 is already in use .*--port N \\(or WEFT_PORT`));
  } finally {
    busy.close();
  }
});

it('drains and frees its port when the npm process that started it gets SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cli-npm-'));
  await writeTestModels(dir);
  // `npm exec -c` runs the command as `npx weft serve` runs the bin: npm → sh -c → node, and npm
  // does not pass SIGTERM on.
  const npm = spawn('npm', ['exec', '-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} serve --port 0 --models ${JSON.stringify(dir)}`], {
    env: { ...process.env, WEFT_DATA_DIR: join(dir, 'data') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  npm.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = once(npm.stderr!, 'close');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no node listening within 60 s:\n${stderr}`)), 60_000);
      npm.stderr!.on('data', () => {
        const m = /weft node listening url=(http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    npm.kill('SIGTERM');
    // The node's stderr closes when the node itself has exited, npm having gone first.
    await closed;
    assert.match(stderr, /shutting down reason="the npm process that started this node exited/);
    assert.match(stderr, /INFO stopped/);
    await assert.rejects(fetch(`${url}/v2/health/ready`), 'the port is freed');
  } finally {
    npm.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
