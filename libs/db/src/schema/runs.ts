import { boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { RunPhase, SearchShare } from '@featx/contracts';
import { createdAt, ownedBy, timestamptz, uuidPrimaryKey, workTimestamps } from './columns';
import { featureSets } from './features';

/**
 * One training of a head on a feature set: its configuration, where it is in its life, and where
 * its checkpoints and final model are. A run whose trainer stops sending heartbeats is resumed
 * from its last checkpoint by the next trainer that starts.
 */
export const trainingRuns = pgTable(
  'training_runs',
  {
    id: uuidPrimaryKey(),
    featureSetId: ownedBy('feature_set_id', () => featureSets.id),
    /**
     * model: a run that trains a head into a model (every run a user starts). search-share: a share
     * of a `head: auto` run's candidate grid, trained by whichever trainer claims it; its result is
     * its candidates' leaderboard rows and its best candidate's weights, published to the artifacts
     * bucket for the parent run to adopt.
     */
    kind: text('kind', { enum: ['model', 'search-share'] }).notNull().default('model'),
    /** The `head: auto` run a search share belongs to; null for model runs. Deleting the parent deletes its shares. */
    parentRunId: uuid('parent_run_id').references((): AnyPgColumn => trainingRuns.id, { onDelete: 'cascade' }),
    /** A search share's part of the grid and its seed (contracts' searchShareSchema); null for model runs. */
    share: jsonb('share').$type<SearchShare>(),
    /** The full training configuration, defaults filled in (contracts' trainingConfigSchema). */
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }).notNull().default('queued'),
    error: text('error'),
    /** Set by a cancel command; the trainer stops at the next batch. */
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    /** The trainer working on it, and when it last said so. */
    worker: text('worker'),
    heartbeatAt: timestamptz('heartbeat_at'),
    /** Epochs completed (and checkpointed). */
    epochsDone: integer('epochs_done').notNull().default(0),
    bestEpoch: integer('best_epoch'),
    bestValLoss: doublePrecision('best_val_loss'),
    /** Times the run was resumed after its trainer died. */
    resumes: integer('resumes').notNull().default(0),
    /**
     * What the trainer holding the run is doing now (contracts' runPhaseSchema): the statistics
     * pass, the L2 search, the epochs or the final evaluation, with work done of total and rows/s;
     * written at most about once a second. Null while queued, once finished, and while no trainer
     * holds the run (claiming, releasing and finishing clear it).
     */
    phase: jsonb('phase').$type<RunPhase>(),
    /** Folder of the run's checkpoints on its trainer's own disk, relative to that trainer's artifacts root. */
    artifactsPath: text('artifacts_path'),
    /**
     * The objects the trainer published to the namespace's artifacts bucket (`<namespace>-artifacts`,
     * under `<run id>/`): the model folder (`model/...`) and the report pictures, each with its size
     * and digest. Written after the last object is in, so a listed model is complete; readers check
     * each object against its digest. Null: nothing published (runs trained before publishing
     * existed, or not finished).
     */
    publishedArtifacts: jsonb('published_artifacts').$type<Array<{ name: string; bytes: number; digest: string }>>(),
    classes: jsonb('classes').$type<string[]>().notNull(),
    ...workTimestamps(),
  },
  (t) => [
    index('training_runs_status_idx').on(t.status),
    // GET /runs pages oldest first, all runs or one feature set's.
    index('training_runs_created_at_id_idx').on(t.createdAt, t.id),
    index('training_runs_feature_set_created_at_id_idx').on(t.featureSetId, t.createdAt, t.id),
    // A parent's shares, in order (its wait polls them; GET /runs?parentRunId= lists them).
    index('training_runs_parent_created_at_id_idx').on(t.parentRunId, t.createdAt, t.id),
  ],
);

/** What each epoch reached, as Keras prints it. */
export const epochMetrics = pgTable(
  'epoch_metrics',
  {
    runId: ownedBy('run_id', () => trainingRuns.id),
    epoch: integer('epoch').notNull(),
    trainLoss: doublePrecision('train_loss').notNull(),
    trainAccuracy: doublePrecision('train_accuracy').notNull(),
    valLoss: doublePrecision('val_loss'),
    valAccuracy: doublePrecision('val_accuracy'),
    learningRate: doublePrecision('learning_rate').notNull(),
    durationMs: integer('duration_ms').notNull(),
    rowsPerSecond: doublePrecision('rows_per_second').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.epoch] })],
);

/**
 * A classification report as scikit-learn prints it, on one split: per class precision, recall,
 * F1 and support, accuracy, macro and weighted averages, and the confusion matrix
 * (rows = true class, columns = predicted, in the run's class order).
 */
export const evaluations = pgTable(
  'evaluations',
  {
    runId: ownedBy('run_id', () => trainingRuns.id),
    split: text('split', { enum: ['training', 'validation', 'evaluation'] }).notNull(),
    accuracy: doublePrecision('accuracy').notNull(),
    loss: doublePrecision('loss'),
    perClass: jsonb('per_class').$type<Array<{ label: string; precision: number; recall: number; f1: number; support: number }>>().notNull(),
    macroAvg: jsonb('macro_avg').$type<{ precision: number; recall: number; f1: number; support: number }>().notNull(),
    weightedAvg: jsonb('weighted_avg').$type<{ precision: number; recall: number; f1: number; support: number }>().notNull(),
    confusion: jsonb('confusion').$type<number[][]>().notNull(),
    /** The report as text, exactly as sklearn.metrics.classification_report formats it. */
    report: text('report').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.split] })],
);
