import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // AssemblyScript sources (sdk/, components, templates) are checked by asc, not by the TS tooling.
  { ignores: ['dist/', 'node_modules/', 'scratch/', 'sdk/', 'test/components/', 'examples/*/assembly/', 'examples/*/build/', 'templates/*/assembly/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  // Template components run in componentize-js's engine, which has the encoding API.
  { files: ['templates/**/*.js'], languageOptions: { globals: { TextEncoder: 'readonly', TextDecoder: 'readonly' } } },
  // End-to-end tests read JSON bodies of many shapes; typing each would only restate the wire types.
  { files: ['test/**/*.ts', '**/*.test.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'use an `as const` object' }],
    },
  },
);
