// Writes schemas/weft.schema.json, the published JSON Schema of weft.json, from the one zod
// definition in src/bundle/manifest.ts. `npm test` checks the file is current.
import { writeFileSync } from 'node:fs';
import { manifestSchemaJson } from './manifest-schema-json.js';

writeFileSync(new URL('../schemas/weft.schema.json', import.meta.url), manifestSchemaJson());
console.log('wrote schemas/weft.schema.json');
