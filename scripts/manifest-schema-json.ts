// The JSON Schema text of weft.json, as published in schemas/weft.schema.json.
import { z } from 'zod';
import { manifestSchema } from '../src/bundle/index.js';

export function manifestSchemaJson(): string {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ $id: 'https://weft.dev/schemas/weft.schema.json', title: 'Weft app manifest (weft.json)', ...schema }, null, 2)}\n`;
}
