// The app manifest (`weft.json`): what an app is made of — models, an optional WebAssembly
// component with its grants, routes, and the resources placement needs. Validation errors name
// the field and the problem. The published JSON Schema (schemas/weft.schema.json) is generated
// from this one definition by scripts/write-manifest-schema.ts.

import { z } from 'zod';
import { ErrorCode, WeftError, firstIssue } from '../errors.js';
import { DURATION_PATTERN, SIZE_PATTERN } from '../config/index.js';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const name = z.string().regex(NAME, 'must be 1-63 lowercase letters, digits, "_", "." or "-", starting with a letter or digit');
/** A path inside the app folder: relative, no "..", forward slashes. */
const appPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the app folder, without ".."');
// The settings' own patterns, so weft.json takes exactly the sizes and durations flags take.
const size = z.union([z.number().int().nonnegative(), z.string().regex(SIZE_PATTERN, 'must be a size such as 512MiB')]);
const duration = z.union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'must be a duration such as 250ms or 30s')]);

const model = z
  .strictObject({
    name: name.describe('Model name as requests and grants refer to it.'),
    file: appPath.optional().describe('Model file inside the app folder (ONNX or GGUF).'),
    format: z.enum(['onnx', 'gguf']).optional().describe('Model format; derived from the file extension when omitted.'),
    upstream: z.array(z.url()).min(1).optional().describe('Remote upstream server(s) serving this model instead of a local file.'),
    protocol: z.enum(['openai', 'kserve-v2']).optional().describe('Protocol the upstream speaks.'),
    serving: z.record(z.string(), z.unknown()).optional().describe("Serving config, the keys of a model repository's config.json (checked by the engine)."),
  })
  .refine((m) => (m.file === undefined) !== (m.upstream === undefined), { message: 'needs exactly one of "file" or "upstream"' });

const grants = z.strictObject({
  models: z.array(name).default([]).describe('Models the component may call; nothing else is reachable.'),
  config: z.record(z.string(), z.string()).default({}).describe('Config values the component can read by key.'),
});

const limits = z.strictObject({
  memory: size.default('64MiB').describe('Largest linear memory of one instance.'),
  deadline: duration.default('10s').describe('Wall time one request may take inside the component.'),
  concurrency: z.number().int().positive().default(4).describe('Requests the app handles at once; more wait in its queue.'),
});

const component = z.strictObject({
  file: appPath.describe('Component file (.wasm) inside the app folder.'),
  world: z.string().default('weft:app/app@0.1.0').describe('WIT world the component targets.'),
  grants: grants.default({ models: [], config: {} }).describe('Capabilities granted to the component.'),
  limits: limits.default({ memory: '64MiB', deadline: '10s', concurrency: 4 }).describe('Resource limits per instance and per request.'),
  instances: z.enum(['pooled', 'per-request']).default('pooled').describe('`pooled` reuses warm instances; `per-request` gives every request a fresh one.'),
});

const route = z.strictObject({
  path: z.string().regex(/^\/[^\s]*$/, 'must start with "/"').describe('Path under /apps/{app}; `*` matches the rest.'),
  methods: z.array(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])).optional().describe('Methods accepted; all when omitted.'),
});

const resources = z.strictObject({
  cpu: z.number().positive().optional().describe('CPU cores the app needs.'),
  gpu: z.strictObject({ count: z.number().int().positive(), memory: size.optional() }).optional().describe('GPUs and the memory each must have.'),
  memory: size.optional().describe('Memory the app needs on a node.'),
  labels: z.record(z.string(), z.string()).optional().describe('Node labels required for placement, e.g. {"region": "eu"}.'),
});

export const manifestSchema = z
  .strictObject({
    name: name.describe("App name: the bundle's repository name and the /apps/{name} route prefix."),
    version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'must be a semantic version such as 1.0.0').describe('Version, semver.'),
    description: z.string().max(500).optional().describe('One line on what the app does.'),
    models: z.array(model).default([]).describe('Models the app brings or names.'),
    component: component.optional().describe("The app's logic; an app without one serves its models through the standard protocols only."),
    routes: z.array(route).optional().describe('Routes the component handles; `[{"path": "/*"}]` when omitted.'),
    resources: resources.optional().describe('What a node must offer to run the app.'),
  })
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    m.models.forEach((model, i) => {
      if (names.has(model.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `model '${model.name}' is listed twice` });
      names.add(model.name);
    });
    if (m.routes && !m.component) ctx.addIssue({ code: 'custom', path: ['routes'], message: 'routes need a component to handle them' });
  });

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;

/** The format of a model file: as weft.json says, else from its extension. */
export function modelFormat(model: { file?: string | undefined; format?: 'onnx' | 'gguf' | undefined }): 'onnx' | 'gguf' {
  return model.format ?? (model.file?.toLowerCase().endsWith('.gguf') ? 'gguf' : 'onnx');
}

/** Validates a parsed weft.json; the error names the first field at fault. */
export function parseManifest(raw: unknown, source = 'weft.json'): Manifest {
  const parsed = manifestSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const { field, message } = firstIssue(parsed.error);
  throw new WeftError(ErrorCode.InvalidManifest, `${source}: ${field ? `${field}: ` : ''}${message}`, { field });
}
