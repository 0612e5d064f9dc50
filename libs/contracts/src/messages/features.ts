import { z } from 'zod';
import { commandV1, MessageContract, messageV1 } from '../contract';
import { SPLITS } from './datasets';

/** `avg+max`: the global average and the global max, concatenated (twice the channels). */
export const POOLINGS = ['none', 'avg', 'max', 'avg+max'] as const;
export type Pooling = (typeof POOLINGS)[number];
export const FEATURE_DTYPES = ['float16', 'float32'] as const;
export type FeatureDtype = (typeof FEATURE_DTYPES)[number];
/** What runs a network: TF.js (any backend) or ONNX Runtime. */
export const NETWORK_ENGINES = ['tfjs', 'onnx'] as const;
export type Engine = (typeof NETWORK_ENGINES)[number];
/**
 * The engine a feature extraction asks for: one of NETWORK_ENGINES, or `auto` = the fastest
 * engine each extractor has (ONNX Runtime where it loads, else TF.js).
 */
export const ENGINES = ['auto', ...NETWORK_ENGINES] as const;
export type EngineChoice = (typeof ENGINES)[number];
/**
 * The arithmetic a network runs in: `fp32`, or `int8` = statically quantized (QDQ) on ONNX Runtime,
 * activations calibrated on the dataset's own training images, parity to fp32 checked on held-back ones.
 */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/**
 * Feature-level augmentation of a feature set: `hflip` = the extractor also stores the vector of
 * each training-split image's horizontal mirror, as an extra row tagged augmented (its own
 * shards). Validation and evaluation rows are never augmented. A different augment is a
 * different feature set.
 */
export const AUGMENTS = ['none', 'hflip'] as const;
export type Augment = (typeof AUGMENTS)[number];

/** int8 options left out of a request. */
export const INT8_DEFAULTS = { calibrationImages: 256, parityImages: 64, parityThreshold: 0.99 } as const;

/** Options of a feature extraction, shared by the bus command and the REST body. */
export const extractFeaturesOptionsSchema = z
  .object({
    datasetId: z.string().uuid(),
    /** `resnet50`, a TF.js model folder, or an ONNX model (folder or .onnx file; absolute, or relative to the first data root). */
    model: z.string().min(1).max(4096),
    /** Feature layer; default: the model's own (ResNet-50: its last block, 7x7x2048). */
    layer: z.string().min(1).max(200).optional(),
    pooling: z.enum(POOLINGS).default('avg'),
    dtype: z.enum(FEATURE_DTYPES).default('float32'),
    /** What runs the network; a different engine is a different feature set. */
    engine: z.enum(ENGINES).default('auto'),
    /** fp32 (when absent) or int8 (ONNX Runtime only); a different precision is a different feature set. */
    precision: z.enum(PRECISIONS).optional(),
    /** `none` (when absent) or `hflip`: also the mirrored training images' vectors, tagged augmented (see AUGMENTS). */
    augment: z.enum(AUGMENTS).optional(),
    /** int8: training-split images the activations are calibrated on (default INT8_DEFAULTS). */
    calibrationImages: z.number().int().min(8).max(5000).optional(),
    /** int8: other training-split images the int8 features are compared with fp32 ones on. */
    parityImages: z.number().int().min(8).max(5000).optional(),
    /** int8: lowest accepted mean cosine similarity of int8 to fp32 features on the held-back images. */
    parityThreshold: z.number().min(0).max(1).optional(),
    /**
     * Images per work item. 64: each item also costs a NATS round trip, a feature-store transaction
     * with fsync and a Postgres commit, which 16-image items made a visible share of the work
     * (README, engine benchmark); a crash redoes at most the items in flight.
     */
    batchSize: z.number().int().min(1).max(256).default(64),
  })
  .strict();
export type ExtractFeaturesOptions = z.infer<typeof extractFeaturesOptionsSchema>;

/**
 * What an int8 feature set's extractors quantize with, planned once (in the set's spec) so that
 * every replica calibrates on the same images: data-root paths of training-split images, the
 * calibration sample and a disjoint held-back sample for the parity check.
 */
export interface Int8CalibrationPlan {
  calibration: Array<{ root: string; path: string }>;
  heldBack: Array<{ root: string; path: string }>;
  /** Lowest accepted mean cosine similarity of int8 to fp32 features on the held-back images. */
  threshold: number;
}

/** How an int8 activation's range is chosen from what calibration saw. */
export const CALIBRATION_METHODS = ['minmax', 'percentile'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

const rootPathSchema = z.object({ root: z.string().min(1), path: z.string().min(1) }).strict();

/**
 * The int8 network an int8 feature set's vectors came from, as a head trained on them records it:
 * the content key of the quantized model (cached by the extractors and the API under that key) and
 * the plan and method that make the same model again where the cache does not hold it.
 */
export const int8NetworkSchema = z
  .object({
    key: z.string().regex(/^[0-9a-f]{32}$/, "expected the 32 hex digits of a quantized model's content key"),
    method: z.enum(CALIBRATION_METHODS),
    calibration: z.array(rootPathSchema).min(1),
    heldBack: z.array(rootPathSchema).min(1),
    threshold: z.number().min(-1).max(1),
  })
  .strict();
export type Int8Network = z.infer<typeof int8NetworkSchema>;

/** Why these options cannot make a feature set, beyond each field's own checks (undefined when they can). */
export function extractOptionsConflict(options: Pick<ExtractFeaturesOptions, 'precision' | 'engine'>): { field: string; message: string } | undefined {
  if (options.precision === 'int8' && options.engine === 'tfjs') {
    return { field: 'precision', message: 'precision int8 runs on ONNX Runtime: use engine onnx or auto, not tfjs' };
  }
  return undefined;
}

export const extractFeaturesCommand = commandV1('features.extract', (n) => n.subjects.extractFeatures, extractFeaturesOptionsSchema);

const imageRefSchema = z.object({
  imageId: z.number().int().positive(),
  /** Data root name and the path under it: images travel by reference, never as bytes. */
  root: z.string().min(1),
  path: z.string().min(1),
  /** Class index in the dataset's class list. */
  label: z.number().int().min(0),
  split: z.enum(SPLITS),
});
export type ImageRef = z.infer<typeof imageRefSchema>;

/** A small batch of images to turn into vectors; shared by all extractor replicas. */
export const extractWorkItem = messageV1('work.extract', (n) => n.subjects.extractWork, {
  featureSetId: z.string().uuid(),
  /** Unique per work item; feature batches cut from it are deduplicated by `${workId}:${part}`. */
  workId: z.string().min(1).max(200),
  items: z.array(imageRefSchema).min(1).max(256),
});

/**
 * Vectors for some images of a work item, cut so that each message stays under max_payload.
 * `vectors` holds rows × dim little-endian values of `dtype`, in the order of `imageIds`.
 */
const featureBatchFields = messageV1('features.batch', (n) => n.subjects.featureBatch, {
  featureSetId: z.string().uuid(),
  workId: z.string().min(1),
  part: z.number().int().min(0),
  dtype: z.enum(FEATURE_DTYPES),
  dim: z.number().int().positive(),
  imageIds: z.array(z.number().int().positive()),
  labels: z.array(z.number().int().min(0)),
  splits: z.array(z.enum(SPLITS)),
  /**
   * Per row: the vector of the image's horizontal mirror (an `augment: hflip` set's training
   * rows), not of the image. Absent: no row is. A mirrored row travels in the same batch as its
   * image's, so both are stored in one transaction or neither.
   */
  augmented: z.array(z.boolean()).optional(),
  vectors: z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected binary data (msgpack bin)' }),
  failures: z.array(z.object({ imageId: z.number().int().positive(), reason: z.string() })),
});
export const featureBatch = {
  ...featureBatchFields,
  // The arrays line up row by row, and `vectors` holds exactly rows × dim values.
  schema: featureBatchFields.schema.superRefine((b, ctx) => {
    const rows = b.imageIds.length;
    if (b.labels.length !== rows || b.splits.length !== rows) ctx.addIssue({ code: 'custom', message: 'imageIds, labels and splits must have the same length', path: ['labels'] });
    if (b.augmented !== undefined && b.augmented.length !== rows) ctx.addIssue({ code: 'custom', message: 'augmented must have one flag per row of imageIds', path: ['augmented'] });
    const expected = rows * b.dim * (b.dtype === 'float16' ? 2 : 4);
    if (b.vectors.byteLength !== expected) ctx.addIssue({ code: 'custom', message: `expected ${expected} bytes of vectors, got ${b.vectors.byteLength}`, path: ['vectors'] });
  }),
} satisfies MessageContract;

export const featureSetProgressEvent = messageV1('features.progress', (n) => n.subjects.featureSetProgress, {
  featureSetId: z.string().uuid(),
  images: z.number().int(),
  stored: z.number().int(),
  failed: z.number().int(),
  status: z.enum(['running', 'complete', 'failed']),
});
