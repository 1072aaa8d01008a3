// Builds the dashboard page (run by `npm run build`): bundles src/dashboard/web/app.ts with
// uPlot and the styles into dist/dashboard/web/app.js and app.css with esbuild, and copies the
// page shell. Nothing is fetched at run time: the node serves these files itself.

import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src/dashboard/web');
const OUT = join(ROOT, 'dist/dashboard/web');

mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: { app: join(SRC, 'app.ts') },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(SRC, 'index.html'), join(OUT, 'index.html'));
const size = (f: string) => `${(statSync(join(OUT, f)).size / 1024).toFixed(0)} KiB`;
console.log(`dist/dashboard/web: app.js ${size('app.js')}, app.css ${size('app.css')}`);
