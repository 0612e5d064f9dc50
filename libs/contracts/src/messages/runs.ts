import { z } from 'zod';
import { commandV1, messageV1, RequestContract } from '../contract';
import { SPLITS } from './datasets';

export const HEADS = ['mlp', 'logistic'] as const;
export type HeadKind = (typeof HEADS)[number];
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * How to train a head on a feature set. Defaults are the tutorial's: an MLP sized by the
 * "square root, nearest power of two" rule, SGD with momentum 0.9 and time-based decay, 25 epochs
 * of batch 32.
 */
export const trainingConfigSchema = z
  .object({
    featureSetId: z.string().uuid(),
    head: z.enum(HEADS).default('mlp'),
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
    /** Stop when validation loss has not improved for this many epochs (omitted: never). */
    earlyStoppingPatience: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
    /** Rows in the shuffle buffer that reorders the stream each epoch. */
    shuffleBuffer: z.number().int().min(1).max(1_000_000).default(2048),
  })
  .strict();
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

export const createRunCommand = commandV1(
  'runs.create',
  (n) => n.subjects.createRun,
  trainingConfigSchema.extend({
    /** The run's id, chosen by the sender so it can be followed at once; generated when omitted. */
    runId: z.string().uuid().optional(),
  }),
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

/** The reply to `readShardRequest`: float32 rows (float16 shards are widened) with their labels and image ids. */
export const readShardReply = messageV1('features.read.reply', (n) => n.subjects.readShard, {
  start: z.number().int(),
  rows: z.number().int(),
  dim: z.number().int(),
  features: z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected binary data' }),
  labels: z.array(z.number().int()),
  imageIds: z.array(z.number().int()),
});

/**
 * Request (core NATS request/reply, served by the feature store that holds the shard, so it is
 * addressed to that store's id): rows `start..start+count` of one shard. The reader sets the pace:
 * it asks for the next rows when it wants them.
 */
export const readShardRequest = {
  ...messageV1('features.read', (n) => n.subjects.readShard, {
    shardId: z.string().uuid(),
    start: z.number().int().min(0),
    count: z.number().int().min(1),
  }),
  reply: readShardReply,
} satisfies RequestContract;

export const EVALUATION_SPLITS = SPLITS;
