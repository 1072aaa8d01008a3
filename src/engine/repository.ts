// Finds the models a node serves: a Triton-style repository folder (DIR/<name>/<version>/model.onnx
// or model.gguf and an optional DIR/<name>/config.json, which may name upstream servers instead),
// single NAME=PATH models, NAME=URL upstreams, and the models an app carries.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, WeftError } from '../errors.js';
import type { NodeConfig } from '../config/index.js';
import type { AppBundle } from '../bundle/index.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';

export const ModelFormats = ['onnx', 'gguf', 'upstream'] as const;
export type ModelFormat = (typeof ModelFormats)[number];

export interface ModelDefinition {
  name: string;
  /** onnx models go to the tensor engine; gguf and upstream ones to the LLM service. */
  format: ModelFormat;
  /** Version number → model file (empty for upstream models). */
  versions: Map<number, string>;
  /** Version number → the sha256 its file was verified as at deploy; each load checks it again. */
  digests?: Map<number, string>;
  config: ModelConfig;
}

const MODEL_FILES = [
  ['model.onnx', 'onnx'],
  ['model.gguf', 'gguf'],
] as const;

function formatOf(path: string): 'onnx' | 'gguf' {
  return path.toLowerCase().endsWith('.gguf') ? 'gguf' : 'onnx';
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkName(name: string, source: string): void {
  if (!MODEL_NAME.test(name)) {
    throw new WeftError(ErrorCode.InvalidConfig, `${source}: model name '${name}' must be letters, digits, '_', '.', '-'`);
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new WeftError(ErrorCode.InvalidConfig, `${path}: ${(err as Error).message}`, { cause: err });
  }
}

const LAYOUT = '<name>/<version>/model.onnx (or model.gguf)';

/**
 * Reads DIR/<name>/<version>/model.onnx entries. What does not follow the layout (a model file
 * directly in DIR or in DIR/<name>, a version folder without a model file, an empty repository)
 * is skipped with a warning that names it and the layout expected.
 */
export function scanRepository(dir: string, node: Readonly<NodeConfig>, warn: (message: string) => void = () => undefined): ModelDefinition[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new WeftError(ErrorCode.InvalidConfig, `model repository '${dir}' is not a folder`, { field: 'models' });
  }
  const definitions: ModelDefinition[] = [];
  const isModelFile = (name: string) => /\.(onnx|gguf)$/i.test(name);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && isModelFile(entry.name)) {
      const name = entry.name.replace(/\.[^.]+$/, '');
      warn(`${join(dir, entry.name)} is not served: models go in ${join(dir, LAYOUT)}; move it to ${join(dir, name, '1', `model${entry.name.slice(name.length).toLowerCase()}`)}`);
    }
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const modelDir = join(dir, entry.name);
    checkName(entry.name, modelDir);
    const versions = new Map<number, string>();
    const formats = new Set<'onnx' | 'gguf'>();
    const strays: string[] = [];
    for (const v of readdirSync(modelDir, { withFileTypes: true })) {
      if (v.isFile() && isModelFile(v.name)) strays.push(v.name);
      if (!v.isDirectory() || !/^\d+$/.test(v.name)) continue;
      for (const [fileName, format] of MODEL_FILES) {
        const file = join(modelDir, v.name, fileName);
        if (!existsSync(file)) continue;
        versions.set(Number(v.name), file);
        formats.add(format);
      }
      if (!versions.has(Number(v.name))) {
        warn(`${join(modelDir, v.name)} holds no model.onnx or model.gguf: version ${v.name} of '${entry.name}' is not served`);
      }
    }
    const configPath = join(modelDir, 'config.json');
    const raw = existsSync(configPath) ? readJson(configPath) : {};
    const config = parseModelConfig(raw, configPath, node);
    if (config.upstream !== undefined) {
      definitions.push({ name: entry.name, format: 'upstream', versions: new Map(), config });
      continue;
    }
    if (versions.size === 0) {
      warn(
        strays.length > 0
          ? `${join(modelDir, strays[0]!)} is not served: a model needs a version folder, ${join(modelDir, '1', `model${strays[0]!.slice(strays[0]!.lastIndexOf('.')).toLowerCase()}`)}`
          : `${modelDir} holds no model: expected ${join(modelDir, '<version>/model.onnx')} (or model.gguf), or a config.json naming an upstream`,
      );
      continue;
    }
    if (formats.size > 1) throw new WeftError(ErrorCode.InvalidConfig, `${modelDir}: versions mix model.onnx and model.gguf`);
    definitions.push({ name: entry.name, format: [...formats][0]!, versions, config });
  }
  if (definitions.length === 0) warn(`the model repository ${dir} holds no model: expected ${join(dir, LAYOUT)}, e.g. ${join(dir, 'mymodel', '1', 'model.onnx')}`);
  return definitions;
}

/** A NAME=PATH model from the command line, served as version 1 with the node's defaults. */
export function singleModel(name: string, path: string, node: Readonly<NodeConfig>): ModelDefinition {
  const source = `--model ${name}=${path}`;
  checkName(name, source);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new WeftError(ErrorCode.InvalidConfig, `${source}: no such file`, { field: 'model' });
  }
  return { name, format: formatOf(path), versions: new Map([[1, path]]), config: parseModelConfig({}, source, node) };
}

/** --upstream NAME=URL entries, one model per name with every URL given for it. */
function upstreamModels(node: Readonly<NodeConfig>): ModelDefinition[] {
  const urls = new Map<string, string[]>();
  for (const [name, url] of node.upstream) {
    checkName(name, `--upstream ${name}=${url}`);
    urls.set(name, [...(urls.get(name) ?? []), url]);
  }
  return [...urls].map(([name, list]) => ({
    name,
    format: 'upstream' as const,
    versions: new Map(),
    config: parseModelConfig({ upstream: list }, `--upstream ${name}`, node),
  }));
}

/** Every model the config names (the embedded default is the OCR app, which carries its models). */
export function resolveModels(node: Readonly<NodeConfig>, warn?: (message: string) => void): ModelDefinition[] {
  const definitions = [
    ...(node.models === undefined ? [] : scanRepository(node.models, node, warn)),
    ...node.model.map(([name, path]) => singleModel(name, path, node)),
    ...upstreamModels(node),
  ];
  const seen = new Set<string>();
  for (const d of definitions) {
    if (seen.has(d.name)) throw new WeftError(ErrorCode.InvalidConfig, `model '${d.name}' is defined twice`, { field: 'model' });
    seen.add(d.name);
  }
  return definitions;
}

/**
 * The models an app brings or names: ONNX and GGUF files (version 1 of each) and OpenAI-compatible
 * upstreams, with the serving config its manifest gives and the digest each file was verified as.
 */
export async function appModels(app: AppBundle, node: Readonly<NodeConfig>): Promise<ModelDefinition[]> {
  const definitions = app.manifest.models.map(async (model, i): Promise<ModelDefinition> => {
    const source = `${app.source}: models[${i}] ('${model.name}')`;
    const serving = (extra: Record<string, unknown> = {}) => parseModelConfig({ ...model.serving, ...extra }, `${source}.serving`, node);
    if (model.upstream !== undefined) {
      if (model.protocol === 'kserve-v2') {
        throw new WeftError(ErrorCode.InvalidManifest, `${source}: KServe v2 upstreams are not served yet; OpenAI-compatible ones are`, {
          field: `models[${i}].protocol`,
        });
      }
      return { name: model.name, format: 'upstream' as const, versions: new Map(), config: serving({ upstream: model.upstream }) };
    }
    const file = model.file!;
    const format = model.format ?? formatOf(file);
    return { name: model.name, format, versions: new Map([[1, app.filePath(file)]]), digests: new Map([[1, await app.fileDigest(file)]]), config: serving() };
  });
  return Promise.all(definitions);
}
