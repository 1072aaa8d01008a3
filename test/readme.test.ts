// The README's configuration table is the settings registry's: regenerate it with
// `npm run docs:settings` when a setting changes.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settings } from '../src/config/index.js';
import { TABLE_END, TABLE_START, withSettingsTable } from '../src/cli/settings-table.js';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

it('lists every setting once in the README, as the registry has it', () => {
  assert.equal(withSettingsTable(README), README, 'the README settings table is stale: run `npm run docs:settings`');
  const table = README.slice(README.indexOf(TABLE_START), README.indexOf(TABLE_END)).split('\n');
  for (const s of settings) {
    assert.equal(table.filter((line) => line.startsWith(`| \`--${s.flag}\` |`)).length, 1, `--${s.flag} appears once in the table`);
  }
  // The hand-kept table listed these twice, with different meanings.
  for (const flag of ['data-dir', 'app']) {
    assert.equal(README.split('\n').filter((line) => line.startsWith(`| \`--${flag}\``)).length, 1, `one row for --${flag} in the README`);
  }
});
