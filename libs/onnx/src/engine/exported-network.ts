import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@featx/files';
import { featxCacheDir, preprocessBatch, type DecodedImage, type FeatureNetwork, type Preprocessing } from '@featx/vision';
import { exportLayersModelToOnnx, UnsupportedLayerError } from '../exporter';
import { createOnnxFeatureExtractor } from './onnx-feature-extractor';

/** Bumped whenever the exporter's output for the same network may change, so old cache entries are not reused. */
export const EXPORT_FORMAT = 'featx-onnx-export/1';
const OPSET = 13;

/** Largest accepted |ONNX − TF.js| of a feature value, relative to the largest |TF.js| value (at least 1). */
export const DEFAULT_PARITY_TOLERANCE = 1e-4;

/** The exported graph's outputs differ from the TF.js engine's by more than the tolerance. */
export class OnnxParityError extends Error {
  override readonly name = 'OnnxParityError';
}

/** What `<key>.json` beside each cached `<key>.onnx` records. */
export interface OnnxExportRecord {
  key: string;
  network: string;
  layer: string;
  /** What the exported graph expects (so that a cached export runs without loading the TF.js network). */
  inputSize: [number, number];
  preprocessing: Preprocessing;
  exportedAt: string;
  /** Largest |ONNX − TF.js| over every feature value of the parity inputs. */
  maxAbsDiff: number;
  /** Largest |TF.js| value, the scale the tolerance is relative to. */
  maxAbsValue: number;
  tolerance: number;
  /** `images` (real inputs the caller supplied) or `synthetic` (seeded noise, when none were given). */
  parityInputs: 'images' | 'synthetic';
  parityCount: number;
}

export interface ExportFeatureNetworkOptions {
  /** Default $FEATX_ONNX_CACHE_DIR, else $XDG_CACHE_HOME/featx/onnx, else ~/.cache/featx/onnx. */
  cacheDir?: string;
  /** Real images (network inputSize) to compare both engines on; seeded noise when absent or empty. */
  parityImages?: () => Promise<readonly DecodedImage[]>;
  tolerance?: number;
  log?: (line: string) => void;
}

export interface ExportedFeatureNetwork {
  path: string;
  record: OnnxExportRecord;
  /** True when the export came from the cache (checked when it was made). */
  cached: boolean;
}

export function defaultOnnxCacheDir(): string {
  return featxCacheDir('onnx', process.env['FEATX_ONNX_CACHE_DIR']);
}

/**
 * The network as an ONNX file (NHWC input, feature layer output), from the cache when the same
 * topology and weights were exported before. A fresh export is run on ONNX Runtime and on TF.js
 * with the same inputs and refused (OnnxParityError) when they differ beyond the tolerance; only
 * a checked export is cached. Throws UnsupportedLayerError for a layer the exporter lacks.
 */
export async function exportFeatureNetwork(network: FeatureNetwork, options: ExportFeatureNetworkOptions = {}): Promise<ExportedFeatureNetwork> {
  const model = network.layersModel;
  if (!model) throw new UnsupportedLayerError(network.layer, 'GraphModel', 'TF.js graph models cannot be exported; convert the original model to ONNX instead');
  const log = options.log ?? (() => undefined);
  const cacheDir = options.cacheDir ?? defaultOnnxCacheDir();
  const key = contentKey(model);
  const file = path.join(cacheDir, `${key}.onnx`);
  const recordFile = path.join(cacheDir, `${key}.json`);
  if (existsSync(file) && existsSync(recordFile)) {
    const record = JSON.parse(await readFile(recordFile, 'utf8')) as OnnxExportRecord;
    log(`ONNX export of ${network.name}:${network.layer} from cache ${file} (max abs diff ${record.maxAbsDiff.toExponential(2)} at export)`);
    return { path: file, record, cached: true };
  }

  const started = Date.now();
  const exported = exportLayersModelToOnnx(model, { opset: OPSET, inputLayout: 'NHWC', outputName: 'features' });
  const supplied = options.parityImages ? await options.parityImages() : [];
  const images = supplied.length > 0 ? supplied : syntheticImages(network.inputSize, 2);
  const { maxAbsDiff, maxAbsValue } = await compareEngines(network, exported.bytes, images);
  const tolerance = options.tolerance ?? DEFAULT_PARITY_TOLERANCE;
  const record: OnnxExportRecord = {
    key,
    network: network.name,
    layer: network.layer,
    inputSize: network.inputSize,
    preprocessing: network.preprocessing,
    exportedAt: new Date().toISOString(),
    maxAbsDiff,
    maxAbsValue,
    tolerance,
    parityInputs: supplied.length > 0 ? 'images' : 'synthetic',
    parityCount: images.length,
  };
  if (!(maxAbsDiff <= tolerance * Math.max(1, maxAbsValue))) {
    throw new OnnxParityError(
      `ONNX export of ${network.name}:${network.layer} differs from TF.js by ${maxAbsDiff.toExponential(3)} ` +
        `(largest value ${maxAbsValue.toExponential(3)}; tolerance ${tolerance} relative) on ${describeInputs(record)}`,
    );
  }
  await mkdir(cacheDir, { recursive: true });
  // Atomic writes: a replica exporting the same network at once is harmless. The record goes last,
  // since the cache counts an export only when both files are there.
  await writeFileAtomic(file, exported.bytes);
  await writeFileAtomic(recordFile, JSON.stringify(record, null, 2));
  log(
    `ONNX export of ${network.name}:${network.layer}: ${(exported.bytes.length / 1048576).toFixed(1)} MiB in ${Date.now() - started} ms, ` +
      `max abs diff vs TF.js ${maxAbsDiff.toExponential(2)} (largest value ${maxAbsValue.toExponential(2)}) on ${describeInputs(record)}; cached at ${file}`,
  );
  return { path: file, record, cached: false };
}

function describeInputs(record: OnnxExportRecord): string {
  return `${record.parityCount} ${record.parityInputs === 'images' ? 'given' : 'synthetic'} image(s)`;
}

/** sha256 of the exporter version, the network's topology and every weight's name, shape and bytes. */
function contentKey(model: tf.LayersModel): string {
  const hash = createHash('sha256');
  hash.update(`${EXPORT_FORMAT}\0opset ${OPSET}\0`);
  // The topology without the model's own name, which TF.js numbers per process (model1, model2, ...).
  const { config } = model.toJSON(undefined, false) as { config: Record<string, unknown> };
  hash.update(JSON.stringify({ ...config, name: undefined }));
  for (const weight of model.weights) {
    hash.update(`\0${weight.originalName ?? weight.name}[${weight.shape.join(',')}]\0`);
    const values = weight.read().dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 32);
}

async function compareEngines(network: FeatureNetwork, onnxBytes: Uint8Array, images: readonly DecodedImage[]): Promise<{ maxAbsDiff: number; maxAbsValue: number }> {
  const onnx = await createOnnxFeatureExtractor({
    modelPath: onnxBytes,
    spec: { layout: 'NHWC', inputSize: network.inputSize, preprocessing: network.preprocessing },
    pooling: 'none',
  });
  const input = preprocessBatch(images, network.preprocessing);
  try {
    const got = (await onnx.extract(input)).data;
    const reference = network.features(input);
    const expected = (await reference.data()) as Float32Array;
    reference.dispose();
    if (got.length !== expected.length) throw new OnnxParityError(`ONNX export gives ${got.length} feature values, TF.js ${expected.length}`);
    let maxAbsDiff = 0;
    let maxAbsValue = 0;
    for (let i = 0; i < got.length; i++) {
      const diff = Math.abs(got[i]! - expected[i]!);
      // NaN never compares greater: keep it, so the tolerance check fails.
      if (!(diff <= maxAbsDiff)) maxAbsDiff = diff;
      maxAbsValue = Math.max(maxAbsValue, Math.abs(expected[i]!));
    }
    return { maxAbsDiff, maxAbsValue };
  } finally {
    input.dispose();
    onnx.dispose();
  }
}

/** Seeded smooth-noise images: used only when the caller has no real images to check on. */
function syntheticImages([height, width]: [number, number], count: number): DecodedImage[] {
  return Array.from({ length: count }, (_, k) => {
    const data = new Uint8Array(height * width * 3);
    let s = (k + 1) * 2654435761;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const y = Math.floor(i / 3 / width);
      const x = (i / 3) % width;
      data[i] = (((x + y) * 2 + (s >>> 27)) & 0xff) >>> 0;
    }
    return { data, width, height };
  });
}
