// The JSON schemas a llama.cpp grammar can enforce (node-llama-cpp's GbnfJsonSchema), checked
// before one is made: the library drops what it does not know (`pattern`, `minimum`, `anyOf`...)
// and would then produce output the schema refuses, so a keyword it cannot enforce is a 400 that
// names the keyword's path. `anyOf` becomes `oneOf` (a grammar's alternatives give a value
// matching at least one, which is what anyOf asks). A schema past MAX_SCHEMA_BYTES or
// MAX_SCHEMA_VALUES is refused before it is walked: building its grammar runs on the main thread.

import { ErrorCode, WeftError } from '../../errors.js';

/** Keywords that describe without constraining: accepted anywhere, enforced nowhere. */
const ANNOTATIONS = new Set(['description', 'title', '$schema', '$id', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$defs']);

/** What each kind of schema may carry besides annotations. */
const KEYWORDS: Record<string, readonly string[]> = {
  ref: ['$ref'],
  oneOf: ['oneOf', 'anyOf'],
  const: ['const', 'type'],
  enum: ['enum', 'type'],
  object: ['type', 'properties', 'additionalProperties', 'minProperties', 'maxProperties', 'required'],
  array: ['type', 'items', 'prefixItems', 'minItems', 'maxItems'],
  string: ['type', 'minLength', 'maxLength', 'format'],
  basic: ['type'],
};

const FORMATS = ['date', 'time', 'date-time'];
const BASIC_TYPES = ['string', 'number', 'integer', 'boolean', 'null'];

type Schema = Record<string, unknown>;

/**
 * Bounds on a schema a grammar is built from. node-llama-cpp builds the grammar on the main
 * thread, in time that grows faster than linearly with the enum values (10,000: about 1 s;
 * 100,000: over a minute), and the node answers nothing meanwhile. A real structured-output
 * schema is a few KiB with tens of enum values; these bounds sit well above that.
 */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** enum values and consts in the whole schema, $defs included. */
export const MAX_SCHEMA_VALUES = 1000;

function refuse(path: string, message: string): never {
  throw new WeftError(ErrorCode.BadRequest, `the JSON schema is not supported: ${message}`, { field: path });
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLiteral = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * Returns the schema as node-llama-cpp takes it, or throws BAD_REQUEST naming the first keyword
 * (under `root`, e.g. `response_format.json_schema.schema.properties.code.pattern`) it cannot enforce.
 */
export function grammarSchema(schema: unknown, root: string): Schema {
  const bytes = Buffer.byteLength(JSON.stringify(schema) ?? '');
  if (bytes > MAX_SCHEMA_BYTES) refuse(root, `the schema is ${bytes} bytes of JSON; a grammar is built from at most ${MAX_SCHEMA_BYTES} bytes of schema JSON`);
  return check(schema, root, new Set(), { values: 0 }) as Schema;
}

/** Counts the enum and const values met so far, refusing the one past MAX_SCHEMA_VALUES. */
function count(budget: { values: number }, n: number, path: string): void {
  budget.values += n;
  if (budget.values > MAX_SCHEMA_VALUES) refuse(path, `a grammar is built from at most ${MAX_SCHEMA_VALUES} enum and const values in all; this schema has more`);
}

function check(schema: unknown, path: string, defs: ReadonlySet<string>, budget: { values: number }): unknown {
  if (!isObject(schema)) refuse(path, 'a schema must be an object');
  const out: Schema = {};
  let scope = defs;
  if (schema.$defs !== undefined) {
    if (!isObject(schema.$defs)) refuse(`${path}.$defs`, '$defs must be an object');
    scope = new Set([...defs, ...Object.keys(schema.$defs)]);
    out.$defs = Object.fromEntries(Object.entries(schema.$defs).map(([k, v]) => [k, check(v, `${path}.$defs.${k}`, scope, budget)]));
  }
  const kind = kindOf(schema, path);
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$defs') continue;
    if (ANNOTATIONS.has(key)) {
      out[key] = value;
      continue;
    }
    if (!KEYWORDS[kind]!.includes(key)) {
      refuse(`${path}.${key}`, `'${key}' cannot be enforced here (a grammar enforces type, properties, additionalProperties, items, prefixItems, enum, const, oneOf/anyOf, $ref to #/$defs, min/max of lengths, items and properties, and the date, time and date-time formats)`);
    }
    out[key] = value;
  }
  switch (kind) {
    case 'ref': {
      const ref = schema.$ref;
      const name = typeof ref === 'string' && ref.startsWith('#/$defs/') ? ref.slice('#/$defs/'.length) : undefined;
      if (name === undefined || !scope.has(name)) refuse(`${path}.$ref`, `'${String(ref)}' is not a reference to an entry of $defs`);
      break;
    }
    case 'oneOf': {
      const key = schema.oneOf !== undefined ? 'oneOf' : 'anyOf';
      const list = schema[key];
      if (!Array.isArray(list) || list.length === 0) refuse(`${path}.${key}`, `${key} must be a non-empty list of schemas`);
      delete out.anyOf;
      out.oneOf = list.map((s, i) => check(s, `${path}.${key}[${i}]`, scope, budget));
      break;
    }
    case 'const':
      if (!isLiteral(schema.const)) refuse(`${path}.const`, 'const must be a string, number, boolean or null');
      count(budget, 1, `${path}.const`);
      break;
    case 'enum':
      if (!Array.isArray(schema.enum) || schema.enum.length === 0) refuse(`${path}.enum`, 'enum must be a non-empty list');
      count(budget, schema.enum.length, `${path}.enum`);
      schema.enum.forEach((v, i) => isLiteral(v) || refuse(`${path}.enum[${i}]`, 'enum values must be strings, numbers, booleans or null'));
      break;
    case 'object': {
      if (schema.properties !== undefined) {
        if (!isObject(schema.properties)) refuse(`${path}.properties`, 'properties must be an object');
        out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, check(v, `${path}.properties.${k}`, scope, budget)]));
      }
      if (schema.required !== undefined) {
        // The grammar writes every property; a required key outside them would never be written.
        if (!Array.isArray(schema.required)) refuse(`${path}.required`, 'required must be a list of property names');
        const known = isObject(schema.properties) ? schema.properties : {};
        schema.required.forEach((k, i) => Object.hasOwn(known, k as string) || refuse(`${path}.required[${i}]`, `'${String(k)}' is required but not among properties`));
      }
      const extra = schema.additionalProperties;
      if (extra !== undefined && typeof extra !== 'boolean') out.additionalProperties = check(extra, `${path}.additionalProperties`, scope, budget);
      break;
    }
    case 'array':
      if (schema.items !== undefined) out.items = check(schema.items, `${path}.items`, scope, budget);
      if (schema.prefixItems !== undefined) {
        if (!Array.isArray(schema.prefixItems)) refuse(`${path}.prefixItems`, 'prefixItems must be a list of schemas');
        out.prefixItems = schema.prefixItems.map((s, i) => check(s, `${path}.prefixItems[${i}]`, scope, budget));
      }
      break;
    case 'string':
      if (schema.format !== undefined && !FORMATS.includes(schema.format as string)) {
        refuse(`${path}.format`, `format '${String(schema.format)}' cannot be enforced (${FORMATS.join(', ')} can)`);
      }
      break;
  }
  return out;
}

function kindOf(schema: Schema, path: string): string {
  if (schema.$ref !== undefined) return 'ref';
  if (schema.oneOf !== undefined || schema.anyOf !== undefined) {
    if (schema.oneOf !== undefined && schema.anyOf !== undefined) refuse(`${path}.anyOf`, 'oneOf and anyOf together cannot be enforced');
    return 'oneOf';
  }
  if (schema.const !== undefined) return 'const';
  if (schema.enum !== undefined) return 'enum';
  const type = schema.type;
  if (type === 'object' || type === 'array' || type === 'string') return type;
  const types = Array.isArray(type) ? type : [type];
  if (type === undefined) {
    const unknown = Object.keys(schema).find((k) => !ANNOTATIONS.has(k));
    if (unknown !== undefined) refuse(`${path}.${unknown}`, `'${unknown}' cannot be enforced by a grammar`);
  }
  if (type === undefined || types.length === 0) refuse(path, 'a schema needs a type (or const, enum, oneOf, anyOf or $ref): a grammar cannot produce "any value"');
  for (const [i, t] of types.entries()) {
    if (!BASIC_TYPES.includes(t as string)) {
      refuse(Array.isArray(type) ? `${path}.type[${i}]` : `${path}.type`, `type '${String(t)}' ${t === 'object' || t === 'array' ? 'in a list of types cannot be enforced: use anyOf' : 'is not a JSON schema type'}`);
    }
  }
  return 'basic';
}
