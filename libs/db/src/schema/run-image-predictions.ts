import { bigint, index, pgTable, primaryKey, real, smallint, text } from 'drizzle-orm/pg-core';
import { ownedBy } from './columns';
import { images } from './datasets';
import { trainingRuns } from './runs';

/**
 * What a run's final head predicted for each image of its held-out splits, written with the
 * classification reports: the rows behind each cell of a confusion matrix. Classes are indexes
 * into the run's `classes`. Runs trained before this table existed have none.
 */
export const runImagePredictions = pgTable(
  'run_image_predictions',
  {
    runId: ownedBy('run_id', () => trainingRuns.id),
    split: text('split', { enum: ['validation', 'evaluation'] }).notNull(),
    imageId: bigint('image_id', { mode: 'number' })
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    trueClass: smallint('true_class').notNull(),
    predictedClass: smallint('predicted_class').notNull(),
    /** The head's softmax probability of the predicted class. */
    probability: real('probability').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.split, t.imageId] }),
    // One confusion cell's images in image id order: GET /runs/:id/predictions?true=&predicted=.
    index('run_image_predictions_cell_idx').on(t.runId, t.split, t.trueClass, t.predictedClass, t.imageId),
  ],
);
