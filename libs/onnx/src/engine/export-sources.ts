import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { hashFile, writeFileAtomic } from '@featx/files';
import { MODEL_SPEC_FILE, RESNET50_WEIGHTS, resolveWeightsFile, type FeatureExtractorOptions } from '@featx/vision';
import { EXPORT_FORMAT, type OnnxExportRecord } from './exported-network';

/** The files behind a network, as a cache key, and the options to load it with (weights resolved once). */
export interface ExportSource {
  key: string;
  options: FeatureExtractorOptions;
}

/**
 * A shortcut past loading the TF.js network when its export is already cached: the sha256 of the
 * files that define the network (model.json and its weight shards, or the .h5 weights; published
 * weights by the checksum they were just verified against) and of the options that shape it,
 * mapped to the export's content key by `<source key>.source.json`. On a hit the extractor never
 * builds the TF.js model (seconds of CPU and its weights' memory). Undefined for random weights.
 */
export async function exportSource(options: FeatureExtractorOptions): Promise<ExportSource | undefined> {
  const digests: string[] = [];
  let resolved = options;
  if (options.model === 'resnet50') {
    if (options.weights === 'random') return undefined;
    if (options.weightsPath) {
      digests.push(`${path.basename(options.weightsPath)}:${await hashFile(options.weightsPath, 'sha256')}`);
    } else {
      const weightsPath = await resolveWeightsFile(RESNET50_WEIGHTS.notop, { cacheDir: options.weightsCacheDir, download: options.download, log: options.log });
      digests.push(`${RESNET50_WEIGHTS.notop.fileName}:${RESNET50_WEIGHTS.notop.hashAlgorithm}:${RESNET50_WEIGHTS.notop.hash}`);
      resolved = { ...options, weightsPath }; // verified: loading need not find and check it again
    }
  } else {
    const modelJson = path.join(options.model, 'model.json');
    if (!existsSync(modelJson)) return undefined;
    const manifest = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest?: Array<{ paths: string[] }> };
    const shards = (manifest.weightsManifest ?? []).flatMap((group) => group.paths.map((p) => path.join(options.model, p)));
    const spec = path.join(options.model, MODEL_SPEC_FILE);
    for (const file of [modelJson, ...shards, ...(existsSync(spec) ? [spec] : [])]) digests.push(`${path.basename(file)}:${await hashFile(file, 'sha256')}`);
  }
  const shape = { model: options.model === 'resnet50' ? 'resnet50' : 'folder', layer: options.layer ?? null, inputSize: options.inputSize ?? null, spec: options.spec ?? null };
  const key = createHash('sha256').update(`${EXPORT_FORMAT}\0${JSON.stringify(shape)}\0${digests.join('\0')}`).digest('hex').slice(0, 32);
  return { key, options: resolved };
}

/** The cached export these sources were last exported to, if it and its record are still there. */
export async function cachedExportForSource(cacheDir: string, sourceKey: string): Promise<{ path: string; record: OnnxExportRecord } | undefined> {
  const pointer = path.join(cacheDir, `${sourceKey}.source.json`);
  if (!existsSync(pointer)) return undefined;
  const { key } = JSON.parse(await readFile(pointer, 'utf8')) as { key: string };
  const file = path.join(cacheDir, `${key}.onnx`);
  const recordFile = path.join(cacheDir, `${key}.json`);
  if (!existsSync(file) || !existsSync(recordFile)) return undefined;
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as OnnxExportRecord;
  if (!record.inputSize || !record.preprocessing) return undefined; // written by an older featx
  return { path: file, record };
}

export async function rememberExportSource(cacheDir: string, sourceKey: string, key: string): Promise<void> {
  const pointer = path.join(cacheDir, `${sourceKey}.source.json`);
  await writeFileAtomic(pointer, JSON.stringify({ key }));
}
