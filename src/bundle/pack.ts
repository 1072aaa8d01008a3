// `weft pack`: turns an app folder into an OCI artifact — the weft.json as the config blob, a
// layer per model and component file — in any Target. Files are hashed and copied as streams;
// nothing time-dependent goes in, so packing the same folder twice gives the same digests.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile, sha256 } from '../store/index.js';
import { openAppFolder } from './app.js';
import { modelFormat } from './manifest.js';
import { Annotation, encodeJson, MediaType, type Descriptor, type ImageManifest } from './oci.js';
import { quietProgress, type Progress, type Target } from './target.js';

/** Packs the app in `dir` into `target`, tagging it with `tag` when given; returns the manifest descriptor. */
export async function packApp(dir: string, target: Target, options: { tag?: string; progress?: Progress } = {}): Promise<Descriptor> {
  const app = openAppFolder(dir);
  const progress = options.progress ?? quietProgress;
  const config = await readFile(join(app.source, 'weft.json'));
  const configDescriptor: Descriptor = { mediaType: MediaType.AppConfig, digest: sha256(config), size: config.byteLength };
  await target.putBlob(configDescriptor, () => [config]);

  const files: Array<{ file: string; mediaType: string; annotations: Record<string, string> }> = [];
  for (const model of app.manifest.models) {
    if (model.file === undefined) continue;
    const format = modelFormat(model);
    files.push({
      file: model.file,
      mediaType: format === 'gguf' ? MediaType.ModelGguf : MediaType.ModelOnnx,
      annotations: { [Annotation.Title]: model.file, [Annotation.ModelName]: model.name, [Annotation.ModelFormat]: format },
    });
  }
  const component = app.manifest.component;
  if (component) {
    files.push({ file: component.file, mediaType: MediaType.Wasm, annotations: { [Annotation.Title]: component.file, [Annotation.ComponentWorld]: component.world } });
  }

  const layers: Descriptor[] = [];
  for (const { file, mediaType, annotations } of files) {
    const path = app.filePath(file);
    const { digest, size } = await digestFile(path);
    const layer: Descriptor = { mediaType, digest, size, annotations };
    await target.putBlob(layer, () => createReadStream(path, { highWaterMark: 1 << 20 }), progress);
    layers.push(layer);
  }

  const annotations: Record<string, string> = { [Annotation.Title]: app.manifest.name, [Annotation.Version]: app.manifest.version };
  if (app.manifest.description !== undefined) annotations[Annotation.Description] = app.manifest.description;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    artifactType: MediaType.App,
    config: configDescriptor,
    layers,
    annotations,
  };
  const bytes = encodeJson(manifest);
  const descriptor: Descriptor = { mediaType: MediaType.ImageManifest, digest: sha256(bytes), size: bytes.byteLength, artifactType: MediaType.App };
  await target.putManifest(descriptor, bytes);
  await target.tag(descriptor, bytes, options.tag ?? app.manifest.version);
  return descriptor;
}
