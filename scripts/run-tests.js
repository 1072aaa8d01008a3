// Runs every test file (src/**/*.test.ts beside the code, test/**/*.test.ts end to end) with
// Node's own test runner. Node 20's runner neither globs nor picks up .ts files by itself.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : [...findTests('src'), ...findTests('test')];
// A test or hook that hangs fails after 5 minutes instead of holding CI until its own limit;
// --test-force-exit ends a file's process once its tests are done even when something it
// started (a server, a child process) was left open; the whole run is bounded as well.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', '--test-reporter=spec', ...files],
  // Every node the suite starts keeps gRPC off unless its test asks for a port: several nodes
  // at once would all want the default 8081.
  { stdio: 'inherit', timeout: 50 * 60 * 1000, killSignal: 'SIGKILL', env: { ...process.env, WEFT_GRPC_PORT: process.env.WEFT_GRPC_PORT ?? '0' } },
);
if (result.error) console.error(`the test run was stopped: ${result.error.message}`);
process.exit(result.status ?? 1);
