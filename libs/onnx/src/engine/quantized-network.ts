import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '@featx/files';
import { preprocessInto, type DecodedImage, type Pooling, type Preprocessing } from '@featx/vision';
import { QUANTIZER_FORMAT, quantizeOnnxModel, type CalibrationMethod } from '../quantizer';
import { createOnnxFeatureExtractor } from './onnx-feature-extractor';

/** Default lowest accepted mean cosine similarity of int8 to fp32 features on held-back images. */
export const DEFAULT_PARITY_THRESHOLD = 0.99;

/** The int8 network's features are further from fp32 than the threshold allows. */
export class QuantizationParityError extends Error {
  override readonly name = 'QuantizationParityError';
}

/** Cosine similarity of int8 to fp32 feature vectors, image by image, on held-back images. */
export interface ParityMeasurement {
  pooling: Pooling;
  images: number;
  meanCosine: number;
  minCosine: number;
  measuredAt: string;
}

/** What `<key>.json` beside each cached int8 `<key>.onnx` records. */
export interface QuantizationRecord {
  key: string;
  /** The fp32 export's content key it was made from. */
  source: string;
  method: CalibrationMethod;
  calibrationImages: number;
  quantizedOps: Record<string, number>;
  foldedBatchNorms: number;
  absorbedActivations: number;
  quantizedAt: string;
  quantizeMs: number;
  /** Parity measured so far, by `<pooling>:<sha256 of the held-back images>`. */
  parity: Record<string, ParityMeasurement>;
}

/** The int8 model with its record and the parity measured for this use, as the feature set records it. */
export interface QuantizationReport {
  precision: 'int8';
  key: string;
  method: CalibrationMethod;
  calibrationImages: number;
  quantizedOps: Record<string, number>;
  parity: ParityMeasurement & { threshold: number };
  cached: boolean;
}

export interface QuantizeFeatureNetworkOptions {
  cacheDir: string;
  /** The fp32 export: its file and content key. */
  fp32Path: string;
  fp32Key: string;
  name: string;
  inputSize: [number, number];
  preprocessing: Preprocessing;
  pooling: Pooling;
  /** Calibration images (of inputSize), e.g. a sample of the dataset's training split. */
  calibrationImages: () => Promise<readonly DecodedImage[]>;
  /** Held-back images (none of the calibration ones) to measure parity on. */
  heldBackImages: () => Promise<readonly DecodedImage[]>;
  method?: CalibrationMethod;
  threshold?: number;
  /**
   * The content key the int8 model must have (a head trained on its features records it): taken
   * from the cache without decoding the calibration images when there, else made again from them
   * and refused if they give another key.
   */
  expectedKey?: string;
  threads?: number;
  log?: (line: string) => void;
}

/** The int8 model made from the recorded calibration settings is not the one expected (QuantizeFeatureNetworkOptions.expectedKey). */
export class QuantizationMismatchError extends Error {
  override readonly name = 'QuantizationMismatchError';
}

/**
 * Images per calibration run. Every quantized tensor is an output then (~40 MB an image for
 * ResNet-50), so a batch of 8 took the extractor to 1.8 GiB; 2 gives the same ranges (each image's
 * activations do not depend on its batch) at half the peak memory.
 */
const CALIBRATION_BATCH = 2;
/** Images per forward pass when measuring parity (features only). */
const PARITY_BATCH = 8;

/**
 * The fp32 export quantized to int8 (QDQ), from the cache when the same export was calibrated on
 * the same images (by content) before, and its parity to fp32 on the held-back images (cached by
 * pooling and images too). Throws QuantizationParityError, with the numbers, when the mean cosine
 * similarity is below the threshold.
 */
export async function quantizeFeatureNetwork(options: QuantizeFeatureNetworkOptions): Promise<{ path: string; record: QuantizationRecord; report: QuantizationReport }> {
  const log = options.log ?? (() => undefined);
  const method = options.method ?? 'minmax';
  const threshold = options.threshold ?? DEFAULT_PARITY_THRESHOLD;
  if (!(threshold >= -1 && threshold <= 1)) throw new Error(`parity threshold must be a cosine similarity in [-1, 1], got ${threshold}`);
  const cachedFiles = (key: string) => ({ file: path.join(options.cacheDir, `${key}.int8.onnx`), recordFile: path.join(options.cacheDir, `${key}.int8.json`) });
  const inCache = ({ file, recordFile }: { file: string; recordFile: string }) => existsSync(file) && existsSync(recordFile);
  let key = options.expectedKey;
  let calibration: readonly DecodedImage[] = [];
  if (!key || !inCache(cachedFiles(key))) {
    calibration = await options.calibrationImages();
    if (calibration.length === 0) throw new Error('int8 quantization needs calibration images, and none could be read');
    key = createHash('sha256')
      .update(`${QUANTIZER_FORMAT}\0${options.fp32Key}\0${method}\0${imagesDigest(calibration)}`)
      .digest('hex')
      .slice(0, 32);
    if (options.expectedKey && key !== options.expectedKey) {
      throw new QuantizationMismatchError(
        `the int8 model ${options.expectedKey} of ${options.name} is not in the cache ${options.cacheDir}, and quantizing again from the recorded calibration settings (${method}, ${calibration.length} images) gives another one (${key}): a calibration image, the fp32 export or the quantizer (format ${QUANTIZER_FORMAT}) has changed since, so its features would not be the ones recorded`,
      );
    }
  }
  const { file, recordFile } = cachedFiles(key);
  let record: QuantizationRecord;
  const cached = inCache({ file, recordFile });
  if (cached) {
    record = JSON.parse(await readFile(recordFile, 'utf8')) as QuantizationRecord;
    log(`int8 model of ${options.name} from cache ${file}`);
  } else {
    const started = Date.now();
    const fp32 = await readFile(options.fp32Path);
    const quantized = await quantizeOnnxModel(fp32, () => calibrationBatches(calibration, options.preprocessing), {
      method,
      threads: options.threads,
      log,
      progress: (pass, images) => {
        if (images % 64 < CALIBRATION_BATCH || images === calibration.length) log(`int8 calibration of ${options.name}: ${pass} ${images}/${calibration.length} images`);
      },
    });
    record = {
      key,
      source: options.fp32Key,
      method,
      calibrationImages: calibration.length,
      quantizedOps: quantized.quantizedOps,
      foldedBatchNorms: quantized.foldedBatchNorms,
      absorbedActivations: quantized.absorbedActivations,
      quantizedAt: new Date().toISOString(),
      quantizeMs: Date.now() - started,
      parity: {},
    };
    await mkdir(options.cacheDir, { recursive: true });
    await writeFileAtomic(file, quantized.bytes);
    await writeFileAtomic(recordFile, JSON.stringify(record, null, 2));
    log(`int8 model of ${options.name}: ${JSON.stringify(record.quantizedOps)} quantized, calibrated (${method}) on ${calibration.length} images in ${record.quantizeMs} ms; cached at ${file}`);
  }

  const heldBack = await options.heldBackImages();
  if (heldBack.length === 0) throw new Error('int8 parity needs held-back images, and none could be read');
  const parityKey = `${options.pooling}:${imagesDigest(heldBack).slice(0, 16)}`;
  let parity = record.parity[parityKey];
  if (!parity) {
    parity = await measureParity(options, file, heldBack);
    record = { ...record, parity: { ...record.parity, [parityKey]: parity } };
    await writeFileAtomic(recordFile, JSON.stringify(record, null, 2));
  }
  const report: QuantizationReport = { precision: 'int8', key, method, calibrationImages: record.calibrationImages, quantizedOps: record.quantizedOps, parity: { ...parity, threshold }, cached };
  const summary = `mean cosine ${parity.meanCosine.toFixed(5)} (min ${parity.minCosine.toFixed(5)}) to fp32 on ${parity.images} held-back images, pooling ${parity.pooling}`;
  if (!(parity.meanCosine >= threshold)) {
    throw new QuantizationParityError(`int8 features of ${options.name} are too far from fp32: ${summary}, below the threshold ${threshold}`);
  }
  log(`int8 parity of ${options.name}: ${summary} (threshold ${threshold})`);
  return { path: file, record, report };
}

/** Cosine similarity of each image's int8 and fp32 feature vectors (the set's pooling). */
async function measureParity(options: QuantizeFeatureNetworkOptions, int8Path: string, images: readonly DecodedImage[]): Promise<ParityMeasurement> {
  const spec = { layout: 'NHWC' as const, inputSize: options.inputSize, preprocessing: options.preprocessing };
  const open = (modelPath: string) => createOnnxFeatureExtractor({ modelPath, spec, pooling: options.pooling, threads: options.threads });
  const [fp32, int8] = [await open(options.fp32Path), await open(int8Path)];
  try {
    const cosines: number[] = [];
    for (let start = 0; start < images.length; start += PARITY_BATCH) {
      const batch = images.slice(start, start + PARITY_BATCH);
      const [a, b] = [await fp32.extract(batch), await int8.extract(batch)];
      const dim = a.shape[1];
      for (let i = 0; i < batch.length; i++) cosines.push(cosineSimilarity(a.data.subarray(i * dim, (i + 1) * dim), b.data.subarray(i * dim, (i + 1) * dim)));
    }
    return {
      pooling: options.pooling,
      images: cosines.length,
      meanCosine: cosines.reduce((s, c) => s + c, 0) / cosines.length,
      minCosine: Math.min(...cosines),
      measuredAt: new Date().toISOString(),
    };
  } finally {
    fp32.dispose();
    int8.dispose();
  }
}

/** Cosine similarity; two zero vectors are the same (1), one zero vector against another is 0. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

async function* calibrationBatches(images: readonly DecodedImage[], preprocessing: Preprocessing) {
  for (let start = 0; start < images.length; start += CALIBRATION_BATCH) {
    const batch = images.slice(start, start + CALIBRATION_BATCH);
    const { height, width } = batch[0]!;
    const per = height * width * 3;
    const data = new Float32Array(batch.length * per);
    batch.forEach((image, i) => preprocessInto(image.data, preprocessing, data, i * per));
    yield { data, dims: [batch.length, height, width, 3] };
  }
}

function imagesDigest(images: readonly DecodedImage[]): string {
  const hash = createHash('sha256');
  for (const image of images) {
    hash.update(`${image.width}x${image.height}\0`);
    hash.update(image.data);
  }
  return hash.digest('hex');
}
