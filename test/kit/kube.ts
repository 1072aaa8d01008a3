// Renders the kustomize overlays under deploy/kubernetes with the real `kubectl kustomize`, and
// validates each rendered object offline: Kubernetes kinds against the API's own schemas
// (kubernetes-models), the Gateway API Inference Extension's InferencePool and the HTTPRoute
// against the JSON schemas in test/kit/schemas; no cluster is needed.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** `kubectl kustomize DIR`, parsed into objects. */
export async function kustomize(dir: string): Promise<KubeObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return parseYamlDocuments(stdout);
}

export function parseYamlDocuments(text: string): KubeObject[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

const schemaFile = (name: string) => JSON.parse(readFileSync(new URL(`./schemas/${name}`, import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const customSchemas: Record<string, ReturnType<typeof ajv.compile>> = {
  'inference.networking.k8s.io/v1/InferencePool': ajv.compile(schemaFile('inferencepool-v1.schema.json')),
  'gateway.networking.k8s.io/v1/HTTPRoute': ajv.compile(schemaFile('httproute-v1.schema.json')),
};

/**
 * Records every property a validator reads. kubernetes-models' validators accept unknown fields
 * (the OpenAPI schemas do not forbid them), but the API server's strict field validation, which
 * `kubectl apply` uses, rejects them: a field no validator looked at is one Kubernetes does not know.
 */
function tracked(value: unknown, path: string, seen: Set<string>, enumerated: Set<string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !Object.hasOwn(target, key)) return child;
      const childPath = `${path}/${key}`;
      seen.add(childPath);
      return tracked(child, childPath, seen, enumerated);
    },
    ownKeys(target) {
      // A map (labels, ConfigMap data) is walked key by key: all its keys are known.
      enumerated.add(path);
      return Reflect.ownKeys(target);
    },
  });
}

function unreadPaths(value: unknown, path: string, seen: Set<string>, enumerated: Set<string>, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}/${key}`;
    if (!seen.has(childPath) && !enumerated.has(path)) out.push(childPath);
    else unreadPaths(child, childPath, seen, enumerated, out);
  }
}

/** Problems with one object; empty when it validates. */
export async function validateObject(obj: KubeObject): Promise<string[]> {
  const id = `${obj.apiVersion}/${obj.kind}`;
  const custom = customSchemas[id];
  if (custom) {
    return custom(obj) ? [] : (custom.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
  // kubernetes-models lays out one module per kind: v1/Service, apps/v1/Deployment, …
  let Model: { new (data: unknown): { validate(): void }; prototype: { validate(): void } };
  try {
    Model = (await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`))[obj.kind];
  } catch {
    return [`no schema for ${id}`];
  }
  const problems: string[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const seen = new Set<string>();
  const enumerated = new Set<string>();
  try {
    // The model's constructor deep-copies its data: run its validator on the tracked object itself.
    Model.prototype.validate.call(tracked(structuredClone(obj), '', seen, enumerated));
  } catch {
    // reported above
  }
  const unknown: string[] = [];
  unreadPaths(obj, '', seen, enumerated, unknown);
  for (const path of unknown) problems.push(`${path}: unknown field`);
  return problems;
}
