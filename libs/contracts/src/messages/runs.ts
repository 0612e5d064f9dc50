import { z } from 'zod';
import { commandV1, MessageContract, MessageOf, messageV1, RequestContract } from '../contract';
import { SPLITS } from './datasets';
import { FEATURE_DTYPES, FeatureDtype } from './features';

export const HEADS = ['mlp', 'logistic'] as const;
export type HeadKind = (typeof HEADS)[number];
/** What a run asks for: a head, or `auto` = the best head a search on the validation split finds. */
export const HEAD_CHOICES = [...HEADS, 'auto'] as const;
export type HeadChoice = (typeof HEAD_CHOICES)[number];
/** What is done to each feature vector before standardization: nothing, or power normalization (signed square root, then L2 normalization). */
export const NORMALIZATIONS = ['none', 'power'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

/** What `--head auto` chose, recorded in the run's configuration once its search is done (the leaderboard: GET /runs/:id). */
export const headSearchRecordSchema = z
  .object({
    /** The chosen candidate's name, as on the leaderboard. */
    chosen: z.string().min(1),
    /** Heads in the grid (the kNN baseline not counted). */
    candidates: z.number().int().min(1),
    /** Most epochs a candidate trained, the early-stopping patience, and the successive-halving rungs. */
    epochs: z.number().int().min(1),
    patience: z.number().int().min(1),
    rungs: z.array(z.object({ epoch: z.number().int().min(1), keep: z.number().min(0).max(1) })),
    /** Child runs the grid was split into (searchShares); absent or 1: searched in the run's own trainer. */
    shares: z.number().int().min(1).optional(),
    /**
     * The model's candidates, best first (`chosen` is the first): their probabilities averaged.
     * Absent in runs searched before ensembles: the chosen candidate alone.
     */
    members: z.array(z.string().min(1)).min(1).optional(),
    /** Each ensemble size tried (the best k candidates), with its validation scores; the model is the best. */
    ensembles: z.array(z.object({ k: z.number().int().min(1), valAccuracy: z.number(), valLoss: z.number() })).optional(),
    /**
     * `hflip`: selection and evaluation scored each image's probabilities averaged with its
     * mirror's (an hflip set whose validation and evaluation images are mirrored too), and
     * prediction does the same by default; `none` or absent: the image alone.
     */
    testTimeAugment: z.enum(['none', 'hflip']).optional(),
    /** Folds of the converged candidates' cross-validation on the training split (absent: runs searched before it, or none). */
    convergedFolds: z.number().int().min(2).optional(),
    /**
     * Where a step-trained candidate led the validation ranking over the cross-validated converged
     * one: both names, the leader's validation accuracy margin and its paired standard error; the
     * winner is the leader only if the margin is more than one standard error.
     */
    convergedPreference: z
      .object({ leader: z.string().min(1), converged: z.string().min(1), accuracyMargin: z.number(), standardError: z.number().min(0), winner: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();
export type HeadSearchRecord = z.infer<typeof headSearchRecordSchema>;

/** Most child runs a `head: auto` search is split into (the default grid has 36 heads). */
export const MAX_SEARCH_SHARES = 36;

/**
 * A search share: one child run of a `head: auto` run, training part of its grid (successive
 * halving and early stopping within the share) with its own seed, as any trainer claims it.
 */
export const searchShareSchema = z
  .object({
    /** 0-based, of `of` shares. */
    index: z.number().int().min(0),
    of: z.number().int().min(1).max(MAX_SEARCH_SHARES),
    /** The candidates it trains: positions in the parent's grid (defaultSearchPlan), in grid order. */
    positions: z.array(z.number().int().min(0)).min(1),
    /** Seed of its heads and batch order, derived from the parent's (searchShareSeed) and kept here. */
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    /** Whether it also scores the cosine kNN baseline (one share does). */
    knn: z.boolean(),
  })
  .strict()
  .refine((share) => share.index < share.of, { path: ['index'], message: 'must be less than of' });
export type SearchShare = z.infer<typeof searchShareSchema>;
/**
 * `lbfgs` is what `head: auto`'s converged logistic candidates are fit with (the whole training
 * split in memory): a chosen configuration may hold it; a run cannot ask for it (STEP_OPTIMIZERS).
 */
export const OPTIMIZERS = ['sgd', 'adam', 'lbfgs'] as const;
/** The optimizers a run may ask for: those that train a batch at a time. */
export const STEP_OPTIMIZERS = ['sgd', 'adam'] as const;
/**
 * What runs a head's training steps: TF.js (its active backend), ONNX Runtime (a generated step
 * graph), or oneDNN (a native addon: oneDNN's GEMM and fused update kernels). Same results within
 * float tolerance; any engine reads any checkpoint.
 */
export const HEAD_ENGINES = ['tfjs', 'onnx', 'onednn'] as const;
export type HeadEngine = (typeof HEAD_ENGINES)[number];
/** A head engine, or `auto` = the fastest one this process can load. */
export const HEAD_ENGINE_CHOICES = ['auto', ...HEAD_ENGINES] as const;
export type HeadEngineChoice = (typeof HEAD_ENGINE_CHOICES)[number];
export type OptimizerKind = (typeof OPTIMIZERS)[number];
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * How to train a head on a feature set. Defaults are the tutorial's: an MLP sized by the
 * "square root, nearest power of two" rule, SGD with momentum 0.9 and time-based decay, 25 epochs
 * of batch 32.
 */
const trainingConfigFields = z
  .object({
    featureSetId: z.string().uuid(),
    /** `auto`: the head, its optimizer, L2 or dropout and its inputs' preparation are chosen on the validation split (the run's configuration then holds the choice and `search`). */
    head: z.enum(HEAD_CHOICES).default('mlp'),
    /** MLP hidden layer sizes; default from the input size (the tutorial's 256, 16 for 100,352). */
    hidden: z.array(z.number().int().min(1).max(65536)).min(1).max(8).optional(),
    dropout: z.number().min(0).max(0.95).default(0),
    /** Logistic regression L2 strength; omitted = chosen on the validation split from a small grid. */
    l2: z.number().min(0).max(100).optional(),
    optimizer: z.enum(OPTIMIZERS).default('sgd'),
    learningRate: z.number().positive().max(10).default(0.001),
    momentum: z.number().min(0).max(0.999).default(0.9),
    /** Time-based decay: lr / (1 + decay * step). Default learningRate / epochs, as the tutorial. */
    decay: z.number().min(0).optional(),
    epochs: z.number().int().min(1).max(10000).default(25),
    batchSize: z.number().int().min(1).max(65536).default(32),
    /** Weight each class by total / (classes * count) in the loss, for imbalanced sets. */
    classWeights: z.boolean().default(false),
    /** Standardize features with mean/std from one streaming pass over the training split. */
    standardize: z.boolean().default(false),
    /** Power-normalize features (signed square root, then L2 normalization to a value RMS of 1) before any standardization. */
    normalize: z.enum(NORMALIZATIONS).default('none'),
    /** Present once a `head: auto` run has chosen: what it chose, from what. */
    search: headSearchRecordSchema.optional(),
    /**
     * `head: auto` only: child runs its grid is split into, each claimed by any trainer (replicas
     * search in parallel; 3 = one per input view). 1: the whole search in the run's own trainer,
     * every batch read once for all 36 candidates. Omitted: the trainer's FEATX_SEARCH_SHARES
     * (default 1), written into the run's configuration when it starts.
     */
    searchShares: z.number().int().min(1).max(MAX_SEARCH_SHARES).optional(),
    /**
     * `head: auto` only: folds of the converged candidates' cross-validation on the training split
     * (one of them stays in the race, and a step-trained leader must beat it by more than one
     * standard error). Omitted: none, every candidate judged on the validation split alone. Off by
     * default: five folds doubled the search's time on clothing-small's pooled sets (README).
     */
    cvFolds: z.number().int().min(2).max(10).optional(),
    /** Stop when validation loss has not improved for this many epochs (omitted: never). */
    earlyStoppingPatience: z.number().int().min(1).optional(),
    /**
     * For a feature set without a validation split: the share of each class's training images held
     * out as the run's validation split (the same images for every run at that share; an image's
     * mirror leaves training with it). Omitted: DEFAULT_VALIDATION_HOLDOUT where the run chooses on
     * validation (head auto, logistic without l2, early stopping), written into the configuration
     * when it starts; none otherwise. A set with a validation split refuses it.
     */
    validationHoldout: z.number().gt(0).max(0.5).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
    /** Rows in the shuffle buffer that reorders the stream each epoch. */
    shuffleBuffer: z.number().int().min(1).max(1_000_000).default(2048),
  })
  .strict();

/** Why a dataset's classes cannot train a classifier (fewer than two), or null: the API and the trainer refuse such a run alike. */
export function tooFewClasses(dataset: { name: string; classes: readonly string[] }): string | null {
  if (dataset.classes.length >= 2) return null;
  const found = dataset.classes.length === 0 ? 'no class' : `one class (${dataset.classes[0]})`;
  return `dataset ${dataset.name} has ${found}: a classifier needs images of two classes or more`;
}

/** The share of a set's training images a run holds out for validation where the set has no validation split and the run needs one. */
export const DEFAULT_VALIDATION_HOLDOUT = 0.1;

/** A held-out share as people read it: `10%`, `12.5%`. */
export function formatHoldoutShare(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** Whether a run chooses something on the validation split: its head (auto), its L2 (logistic without one) or when to stop. */
export function choosesOnValidation(config: Pick<TrainingConfig, 'head' | 'l2' | 'earlyStoppingPatience'>): boolean {
  return config.head === 'auto' || (config.head === 'logistic' && config.l2 === undefined) || config.earlyStoppingPatience !== undefined;
}

/** `head: auto` chooses these itself: a given one would be silently overridden, so it is refused. */
function refuseWhatAutoChooses(config: z.output<typeof trainingConfigFields>, ctx: z.RefinementCtx): void {
  if (config.optimizer === 'lbfgs' && !config.search) {
    ctx.addIssue({ code: 'custom', path: ['optimizer'], message: `lbfgs is chosen by head auto only (its converged logistic candidates); ask for ${STEP_OPTIMIZERS.join(' or ')}` });
  }
  if (config.head !== 'auto' && config.searchShares !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['searchShares'], message: 'only head auto searches: leave it out or use head auto' });
  }
  if (config.head !== 'auto' && config.cvFolds !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['cvFolds'], message: 'only head auto cross-validates its candidates: leave it out or use head auto' });
  }
  if (config.head !== 'auto') return;
  const given = { hidden: config.hidden !== undefined, l2: config.l2 !== undefined, dropout: config.dropout > 0, standardize: config.standardize, normalize: config.normalize !== 'none' };
  for (const [field, isGiven] of Object.entries(given)) {
    if (isGiven) ctx.addIssue({ code: 'custom', path: [field], message: `head auto chooses ${field} itself: leave it out` });
  }
}

export const trainingConfigSchema = trainingConfigFields.superRefine(refuseWhatAutoChooses);
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/** Child runs a run's search is split into: 1 unless `head: auto` (then searchShares, or `otherwise` where the run leaves it open). */
export function searchSharesOf(config: Pick<TrainingConfig, 'head' | 'searchShares'>, otherwise: number): number {
  return config.head === 'auto' ? (config.searchShares ?? otherwise) : 1;
}

export const createRunCommand = commandV1(
  'runs.create',
  (n) => n.subjects.createRun,
  trainingConfigFields
    .extend({
      /** The run's id, chosen by the sender so it can be followed at once; generated when omitted. */
      runId: z.string().uuid().optional(),
    })
    .superRefine(refuseWhatAutoChooses),
);

export const cancelRunCommand = commandV1('runs.cancel', (n) => n.subjects.cancelRun, z.object({ runId: z.string().uuid() }).strict());

export const epochFinishedEvent = messageV1('runs.epoch', (n) => n.subjects.runEpoch, {
  runId: z.string().uuid(),
  epoch: z.number().int(),
  epochs: z.number().int(),
  trainLoss: z.number(),
  trainAccuracy: z.number(),
  valLoss: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  durationMs: z.number(),
  rowsPerSecond: z.number(),
});

export const runStatusEvent = messageV1('runs.status', (n) => n.subjects.runStatus, {
  runId: z.string().uuid(),
  status: z.enum(RUN_STATUSES),
  error: z.string().nullable(),
});

const shardRowsReplyFields = {
  start: z.number().int(),
  rows: z.number().int(),
  dim: z.number().int(),
  features: z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected binary data' }),
  labels: z.array(z.number().int()),
  imageIds: z.array(z.number().int()),
};

/**
 * The reply to `readShardRequest`: the rows' feature bytes (little-endian, row after row) with
 * their labels and image ids. v1 (asked by v1 requests): float32, float16 shards widened. v2: as
 * stored, `dtype` says which: a float16 shard travels at half the bytes.
 */
export const readShardReply = {
  name: 'features.read.reply',
  subject: (n) => n.subjects.readShard,
  versions: [1, 2],
  schema: z.discriminatedUnion('v', [
    z.object({ v: z.literal(1), ...shardRowsReplyFields }),
    z.object({ v: z.literal(2), dtype: z.enum(FEATURE_DTYPES), ...shardRowsReplyFields }),
  ]),
} satisfies MessageContract;

/** The rows of a reply besides their feature bytes. */
export interface ShardRowsReplyRows {
  start: number;
  rows: number;
  dim: number;
  labels: number[];
  imageIds: number[];
}

/**
 * A `readShardReply` as a store sends it. The feature bytes go as a Buffer, which msgpack encodes
 * as standard bin (any msgpack reader's bytes; a reader sees them in place, where a typed array
 * would take msgpackr's typed-array extension, which readers copy). Placed right after `v`, bytes
 * of 64 KiB or more (bin 32) start 20 bytes into the message: a reader whose reply starts its
 * buffer views float16 or float32 values without copying them. (v1 replies are float32; `dtype`
 * is v2's.)
 */
export function shardRowsReply(v: 1 | 2, dtype: FeatureDtype, features: Uint8Array, rows: ShardRowsReplyRows): MessageOf<typeof readShardReply> {
  const bytes = Buffer.from(features.buffer, features.byteOffset, features.byteLength);
  return v === 1 ? { v: 1, features: bytes, ...rows } : { v: 2, features: bytes, dtype, ...rows };
}

/**
 * Request (core NATS request/reply, served by the feature store that holds the shard, so it is
 * addressed to that store's id): rows `start..start+count` of one shard. The reader sets the pace:
 * it asks for the next rows when it wants them. The reply has the request's version and may hold
 * fewer rows than asked: no more than `shardRowsPerReply` at the server's max_payload.
 */
export const readShardRequest = {
  name: 'features.read',
  subject: (n) => n.subjects.readShard,
  versions: [1, 2],
  schema: z.object({
    v: z.union([z.literal(1), z.literal(2)]),
    shardId: z.string().uuid(),
    start: z.number().int().min(0),
    count: z.number().int().min(1),
    /**
     * v2, false: the labels and image ids only (the reply's features are empty, and it holds as
     * many rows as fit without them), for an export of those arrays. Stores that predate it send
     * the features anyway.
     */
    features: z.boolean().optional(),
  }),
  reply: readShardReply,
} satisfies RequestContract;

/** Reply bytes besides the rows: the envelope's fields, with room to spare. */
const SHARD_REPLY_ENVELOPE_BYTES = 16 * 1024;
/** A row's label and image id, as msgpack integers (at most 5 and 9 bytes), rounded up. */
const SHARD_REPLY_ROW_EXTRA_BYTES = 32;

/**
 * Rows of `dim` values one `readShardReply` holds within `maxPayload` bytes (at least one), when
 * they travel as `dtype` (v1 replies: float32). The feature store caps replies with it and
 * readers size their requests with it, so that one request is one reply.
 */
export function shardRowsPerReply(maxPayload: number, dim: number, dtype: FeatureDtype): number {
  const rowBytes = dim * (dtype === 'float16' ? 2 : 4) + SHARD_REPLY_ROW_EXTRA_BYTES;
  return Math.max(1, Math.floor((maxPayload - SHARD_REPLY_ENVELOPE_BYTES) / rowBytes));
}

export const EVALUATION_SPLITS = SPLITS;
