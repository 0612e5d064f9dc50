import { boolean, doublePrecision, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, ownedBy } from './columns';
import { trainingRuns } from './runs';

/**
 * The leaderboard of a `--head auto` run: every candidate of its search (and the kNN baseline),
 * with its settings, how far it trained and its validation metrics at its best epoch. Written
 * once, when the search ends; the chosen candidate's settings are also the run's configuration.
 */
export const runCandidates = pgTable(
  'run_candidates',
  {
    runId: ownedBy('run_id', () => trainingRuns.id),
    /** Position in the search's grid (the kNN baseline after the heads). */
    position: integer('position').notNull(),
    /** `logistic sgd lr=0.001 l2=0.01 power`, `knn cosine k=10`. */
    name: text('name').notNull(),
    /** What makes the candidate: kind, input view, optimizer, learning rate, L2, dropout (or k). */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
    /**
     * trained (to the last epoch), early-stopped, pruned (successive halving), fit (L-BFGS on the
     * whole training split), ruled-out (fit, but another converged candidate scored better in the
     * training split's cross-validation: never the model), skipped (too large to hold), baseline
     * (kNN: never the model).
     */
    outcome: text('outcome', { enum: ['trained', 'early-stopped', 'pruned', 'fit', 'ruled-out', 'skipped', 'baseline'] }).notNull(),
    epochsTrained: integer('epochs_trained').notNull(),
    /** Its epoch of best validation accuracy (ties: lower loss); null for the baseline. */
    bestEpoch: integer('best_epoch'),
    /** The rung epoch after which successive halving dropped it. */
    prunedAfter: integer('pruned_after'),
    valAccuracy: doublePrecision('val_accuracy'),
    valLoss: doublePrecision('val_loss'),
    trainAccuracy: doublePrecision('train_accuracy'),
    trainLoss: doublePrecision('train_loss'),
    /** A converged candidate's held-out accuracy and log loss in the training split's k-fold cross-validation (null: not cross-validated). */
    cvAccuracy: doublePrecision('cv_accuracy'),
    cvLoss: doublePrecision('cv_loss'),
    /**
     * A converged candidate fit on a seeded uniform sample of a training split too large to hold:
     * the sample's rows and the split's (null: fit on the whole split, or not a converged candidate).
     */
    sampleRows: integer('sample_rows'),
    splitRows: integer('split_rows'),
    chosen: boolean('chosen').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.position] })],
);
