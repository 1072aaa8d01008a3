// `npm run docs:settings`: rewrites the README's configuration table from the settings
// registry (src/cli/settings-table.ts); test/readme.test.ts fails while it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withSettingsTable } from '../src/cli/settings-table.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
writeFileSync(README, withSettingsTable(readFileSync(README, 'utf8')));
console.log(`rewrote the settings table in ${README}`);
