// Which JSON schemas reach the grammar: what it can enforce passes (anyOf as oneOf), and each
// keyword it would silently drop is refused with its path.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../errors.js';
import { grammarSchema } from './json-schema.js';

const ROOT = 'response_format.json_schema.schema';

function refused(schema: unknown, field: string, message: RegExp = /./): void {
  assert.throws(() => grammarSchema(schema, ROOT), (err: unknown) => {
    assert.ok(err instanceof WeftError);
    assert.equal(err.code, 'BAD_REQUEST');
    assert.equal(err.field, `${ROOT}${field}`);
    assert.match(err.message, message);
    return true;
  });
}

it('passes what a grammar enforces, with anyOf as oneOf', () => {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'verdict',
    type: 'object',
    properties: {
      label: { type: 'string', enum: ['spam', 'ham'], description: 'the class' },
      score: { type: 'number' },
      tags: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 },
      when: { type: 'string', format: 'date' },
      note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      next: { $ref: '#/$defs/step' },
    },
    required: ['label', 'score'],
    additionalProperties: false,
    $defs: { step: { type: ['integer', 'null'] } },
  };
  const out = grammarSchema(schema, ROOT) as any;
  assert.deepEqual(out.properties.note, { oneOf: [{ type: 'string' }, { type: 'null' }] });
  assert.deepEqual(out.properties.label, schema.properties.label);
  assert.deepEqual(out.$defs, schema.$defs);
});

it('refuses each keyword the grammar would drop, naming its path', () => {
  refused({ type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } } }, '.properties.code.pattern', /'pattern' cannot be enforced/);
  refused({ type: 'integer', minimum: 0 }, '.minimum');
  refused({ type: 'array', items: { type: 'number', multipleOf: 2 }, uniqueItems: true }, '.uniqueItems');
  refused({ type: 'array', items: { type: 'number', multipleOf: 2 } }, '.items.multipleOf');
  refused({ type: 'string', format: 'email' }, '.format', /format 'email'/);
  refused({ type: 'object', properties: { x: {} } }, '.properties.x', /needs a type/);
  refused({ type: ['object', 'null'] }, '.type[0]', /use anyOf/);
  refused({ allOf: [{ type: 'string' }] }, '.allOf', /'allOf' cannot be enforced/);
  refused({ description: 'anything' }, '', /needs a type/);
  refused({ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }, '.required[0]', /'b' is required/);
  refused({ $ref: '#/definitions/x' }, '.$ref');
  refused({ oneOf: [{ type: 'string' }, { type: 'string', pattern: 'x' }] }, '.oneOf[1].pattern');
  refused({ type: 'object', additionalProperties: { type: 'string', pattern: 'x' } }, '.additionalProperties.pattern');
  refused({ enum: [{ a: 1 }] }, '.enum[0]');
});

it('refuses a schema past the size and value bounds, naming the limit, before any grammar is built', () => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
  // At the bound it passes; past it, refused at the value that crosses it.
  assert.ok(grammarSchema({ enum: values(1000) }, ROOT));
  refused({ enum: values(1001) }, '.enum', /at most 1000 enum and const values/);
  // The values are counted across the whole schema, const included.
  refused({ type: 'object', properties: { a: { enum: values(600) }, b: { enum: values(400) }, c: { const: 'x' } } }, '.properties.c.const', /1000 enum and const values/);
  // Size: 64 KiB of schema JSON, whatever it holds.
  const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`property_${i}`, { type: 'string' }])) };
  refused(wide, '', /at most 65536 bytes of schema JSON/);
  refused({ enum: values(100_000) }, '', /at most 65536 bytes of schema JSON/);
});
