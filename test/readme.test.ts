// The README's configuration table is the settings registry's: regenerate it with
// `npm run docs:settings` when a setting changes.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settings } from '../src/config/index.js';
import { withSettingsTable } from '../src/cli/settings-table.js';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

it('lists every setting once in the README, as the registry has it', () => {
  assert.equal(withSettingsTable(README), README, 'the README settings table is stale: run `npm run docs:settings`');
  for (const s of settings) {
    const rows = README.split('\n').filter((line) => line.startsWith(`| \`--${s.flag}\` |`));
    assert.equal(rows.length, 1, `--${s.flag} appears once in the table`);
  }
});
