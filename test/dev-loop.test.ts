// End to end, as a new user works: the weft package from `npm pack` of this repository,
// installed in an empty folder outside it, then `weft new`, `weft build`, `weft serve --app .`
// and a request answered, for each template; `weft pack`, sign, push, and serve from a
// registry; `weft serve --watch` swapping an edited app while another app is under load.
// The install is the tarball's own files with the package's production dependencies linked
// beside it (what `npm install weft-0.1.0.tgz` lays out, without fetching 1 GB again): an
// import of a file `files` leaves out, or of a devDependency, fails here as it would for a user.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry, type TestRegistry } from './kit/registry.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { fetchJson, postJson, startWeft, type WeftProcess } from './kit/weft-process.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> };

let tmp: string;
let cli: string;
let env: Record<string, string>;
/** Every `weft` command line this file ran, to check docs/components.md against. */
const ran = new Set<string>();
const nodes: WeftProcess[] = [];
/** The test registry's host:port, written `$REGISTRY` in the docs. */
let registryHost = '$REGISTRY';
const record = (args: string[]) => ran.add(args.join(' ').replaceAll(registryHost, '$REGISTRY'));

async function weft(args: string[], cwd: string): Promise<string> {
  record(args);
  try {
    return (await run(process.execPath, [cli, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 1 << 24 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`weft ${args.join(' ')}: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

async function serve(args: string[], cwd: string): Promise<WeftProcess> {
  record(['serve', ...args]);
  // --watch builds before it listens, and a loaded machine is slow to build: a generous start.
  const node = await startWeft(args, env, { cli, cwd, startMs: 300_000 });
  nodes.push(node);
  return node;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'weft-dev-loop-'));
  env = { WEFT_DATA_DIR: join(tmp, 'data'), WEFT_LLM_THREADS: '1' };
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, maxBuffer: 1 << 26 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = new Set(packed!.files.map((f) => f.path));
  for (const need of ['dist/cli/main.js', 'dist/build/index.js', 'sdk/assemblyscript/index.ts', 'wit/app.wit', 'templates/assemblyscript/weft.json', 'templates/models-only/models/linear.onnx']) {
    assert.ok(files.has(need), `npm pack leaves out ${need}`);
  }
  assert.ok(![...files].some((f) => f.startsWith('src/') || f.startsWith('test/')), 'npm pack ships sources or tests');
  const installed = join(tmp, 'node_modules', 'weft');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['xzf', join(tmp, packed!.filename), '-C', installed, '--strip-components=1']);
  for (const dep of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies)]) {
    mkdirSync(dirname(join(tmp, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(tmp, 'node_modules', dep), 'dir');
  }
  cli = join(installed, 'dist/cli/main.js');
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('the app developer loop, from the packed package', { timeout: 1_800_000 }, () => {
  it('assemblyscript: new, build, serve, a request answered; a bad request is a clear 400', async () => {
    const created = await weft(['new', 'hello', '--template', 'assemblyscript'], tmp);
    assert.match(created, /assembly\/index\.ts/);
    const app = join(tmp, 'hello');
    const built = await weft(['build'], app);
    assert.match(built, /built hello: assembly\/index\.ts \(assemblyscript\) -> build\/app\.wasm, \d+ bytes/);
    assert.match(built, /imports: weft:ai\/inference@0\.1\.0, weft:app\/log@0\.1\.0, weft:app\/config@0\.1\.0/);
    const node = await serve(['--app', '.', '--allow-unsigned'], app);
    const r = await fetchJson(`${node.url}/apps/hello/`, { method: 'POST', body: readFileSync(join(app, 'request.txt')) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.class, 0);
    assert.equal(r.body.scores.length, 3);
    assert.ok(Math.abs(r.body.scores.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    const bad = await fetchJson(`${node.url}/apps/hello/`, { method: 'POST', body: 'one,two' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'APP_BAD_REQUEST');
    await node.stop();
  });

  it('weft pack, sign and push the app, then serve it from a registry', async () => {
    const registry: TestRegistry = await startRegistry();
    registryHost = registry.host;
    try {
      const app = join(tmp, 'hello');
      await weft(['key', 'generate', '-o', 'me'], app);
      await weft(['pack', '.', '-o', 'hello.oci'], app);
      await weft(['sign', 'hello.oci', '--key', 'me.key'], app);
      const ref = `${registry.host}/apps/hello:0.1.0`;
      await weft(['push', ref, '--from', 'hello.oci'], app);
      const node = await serve(['--app', ref, '--trusted-keys', 'me.pub'], app);
      const r = await fetchJson(`${node.url}/apps/hello/`, { method: 'POST', body: '0,5,1,0' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.class, 1);
      await node.stop();
    } finally {
      await registry.stop();
    }
  });

  it('models-only: new, serve, a KServe inference answered', async () => {
    await weft(['new', 'bundle', '--template', 'models-only'], tmp);
    const app = join(tmp, 'bundle');
    const node = await serve(['--app', '.', '--allow-unsigned'], app);
    const r = await postJson(`${node.url}/v2/models/bundle-linear/infer`, readFileSync(join(app, 'request.json'), 'utf8'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const scores = r.body.outputs[0].data as number[];
    assert.equal(scores.length, 3);
    assert.ok(scores[0]! > scores[1]! && scores[0]! > scores[2]!);
    await node.stop();
  });

  it('javascript: new, build, serve with a GGUF, a request answered; a thrown Error reaches the caller', async () => {
    await weft(['new', 'chat', '--template', 'javascript'], tmp);
    const app = join(tmp, 'chat');
    mkdirSync(join(app, 'models'), { recursive: true });
    writeTinyGguf(join(app, 'models', 'model.gguf'));
    const built = await weft(['build'], app);
    assert.match(built, /built chat: src\/app\.js \(javascript\) -> build\/app\.wasm/);
    const node = await serve(['--app', '.', '--allow-unsigned'], app);
    const r = await fetchJson(`${node.url}/apps/chat/`, { method: 'POST', body: readFileSync(join(app, 'request.txt')) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body.answer, 'string');
    assert.ok(r.body.tokens > 0);
    const empty = await fetchJson(`${node.url}/apps/chat/`, { method: 'POST', body: '' });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error, /POST a question/);
    await node.stop();
  });

  it('--watch: an edited component is rebuilt and swapped; another app under load sees no error', async () => {
    const app = join(tmp, 'hello');
    const node = await serve(['--app', '.', '--app', '../bundle', '--allow-unsigned', '--watch'], app);
    const before = await fetchJson(`${node.url}/apps/hello/`, { method: 'POST', body: '3,1,2,0' });
    assert.equal(before.status, 200);
    assert.equal(before.body.edited, undefined);
    let done = false;
    let ok = 0;
    const failures: string[] = [];
    const load = async () => {
      while (!done) {
        const r = await postJson(`${node.url}/v2/models/bundle-linear/infer`, readFileSync(join(tmp, 'bundle', 'request.json'), 'utf8')).catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) ok++;
        else failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const loads = [load(), load()];
    const source = join(app, 'assembly', 'index.ts');
    writeFileSync(source, readFileSync(source, 'utf8').replace('`{"class":${best},', '`{"edited":true,"class":${best},'));
    let after: { status: number; body: any } | undefined;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      after = await fetchJson(`${node.url}/apps/hello/`, { method: 'POST', body: '3,1,2,0' });
      if (after.status === 200 && after.body.edited === true) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    done = true;
    await Promise.all(loads);
    assert.equal(after?.body.edited, true, `the edit never reached the app: ${JSON.stringify(after?.body)}\n${node.logs()}`);
    assert.equal(after?.body.class, 0);
    assert.match(node.logs(), /app redeployed app=hello/);
    assert.deepEqual(failures, []);
    assert.ok(ok > 0, 'the load on the other app sent no request');
    await node.stop();
  });

  it('docs/components.md: every weft command in it was run above', () => {
    const doc = readFileSync(join(ROOT, 'docs/components.md'), 'utf8');
    const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const commands = blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.startsWith('npx weft '));
    assert.ok(commands.length >= 8, `only ${commands.length} weft commands found in docs/components.md`);
    for (const c of commands) assert.ok(ran.has(c.slice('npx weft '.length).replace(/\s+/g, ' ')), `docs/components.md runs '${c}', which no test ran (ran: ${[...ran].join(' | ')})`);
  });
});
