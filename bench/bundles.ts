// Bundle transfer benchmark: packs an app holding one large model file (1 GiB by default) into
// an OCI layout, pushes it to a local docker-registry and pulls it into an empty store, each step
// a separate `weft` process measured with /usr/bin/time -v (peak RSS) and wall time (throughput).
// Usage: npm run build && node --import tsx bench/bundles.ts [BYTES]

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/kit/registry.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const BYTES = Number(process.argv[2] ?? 2 ** 30);
const BLOCK = 16 * 1024 * 1024;

async function writeModel(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let written = 0; written < BYTES; written += BLOCK) await fh.write(randomBytes(Math.min(BLOCK, BYTES - written)));
  } finally {
    await fh.close();
  }
}

interface Step {
  name: string;
  seconds: number;
  maxRssMiB: number;
}

function measure(name: string, args: string[], env: Record<string, string>): Step {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${name} failed:\n${r.stderr}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  return { name, seconds, maxRssMiB: kb / 1024 };
}

const tmp = await mkdtemp(join(os.tmpdir(), 'weft-bench-bundles-'));
const registry = await startRegistry();
try {
  const app = join(tmp, 'app');
  await mkdir(join(app, 'models'), { recursive: true });
  await writeFile(join(app, 'weft.json'), JSON.stringify({ name: 'big', version: '1.0.0', models: [{ name: 'big', file: 'models/big.onnx' }] }));
  await writeModel(join(app, 'models', 'big.onnx'));
  const env = { WEFT_DATA_DIR: join(tmp, 'data'), WEFT_DOCKER_CONFIG: join(tmp, 'none.json') };
  const ref = `${registry.host}/bench/big:1`;
  const steps = [
    measure('pack (-o layout)', ['pack', app, '-o', join(tmp, 'big.oci')], env),
    measure('push (chunked, 16 MiB)', ['push', ref, '--from', join(tmp, 'big.oci')], env),
    // Another repository: the registry links blobs per repository, so this uploads everything again.
    measure('push (one streamed PUT)', ['push', `${registry.host}/bench/big-mono:1`, '--from', join(tmp, 'big.oci'), '--upload-chunk-size', '2GiB'], env),
    measure('pull (empty store)', ['pull', ref], { ...env, WEFT_DATA_DIR: join(tmp, 'pulled') }),
  ];
  const mib = BYTES / 2 ** 20;
  process.stdout.write(`model file: ${mib} MiB; ${os.cpus()[0]?.model} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}\n\n`);
  process.stdout.write('| step | wall s | MiB/s | peak RSS MiB |\n| --- | ---: | ---: | ---: |\n');
  for (const s of steps) process.stdout.write(`| ${s.name} | ${s.seconds.toFixed(2)} | ${(mib / s.seconds).toFixed(0)} | ${s.maxRssMiB.toFixed(0)} |\n`);
} finally {
  await registry.stop();
  await rm(tmp, { recursive: true, force: true });
}
