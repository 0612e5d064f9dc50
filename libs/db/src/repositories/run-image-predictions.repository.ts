import { and, asc, eq, gt } from 'drizzle-orm';
import type { Database } from '../database';
import { images, runImagePredictions } from '../schema';
import { decodeCursor, Page, PageRequest, toPage } from './keyset-page';

export type RunImagePredictionSplit = (typeof runImagePredictions.$inferSelect)['split'];

/** One split's predictions as the evaluation pass collects them: parallel arrays, one entry per image. */
export interface SplitPredictions {
  imageIds: ArrayLike<number>;
  trueClasses: ArrayLike<number>;
  predictedClasses: ArrayLike<number>;
  probabilities: ArrayLike<number>;
}

/** One image of a confusion cell, with its path for display. */
export interface RunImagePredictionRow {
  imageId: number;
  path: string;
  trueClass: number;
  predictedClass: number;
  probability: number;
}

export interface ConfusionCell {
  split: RunImagePredictionSplit;
  /** Class indexes in the run's class order; absent: any. */
  trueClass?: number;
  predictedClass?: number;
}

/** Rows per INSERT: 6 parameters a row keeps a chunk far under Postgres's 65,535. */
const INSERT_CHUNK_ROWS = 5000;

/** Each held-out image's prediction by a run's final head. */
export class RunImagePredictionsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Replaces a split's predictions in one transaction (a run resumed while evaluating evaluates
   * again), inserted in chunks so that a split of any size is a bounded number of statements.
   */
  async replace(runId: string, split: RunImagePredictionSplit, predictions: SplitPredictions): Promise<void> {
    const { imageIds, trueClasses, predictedClasses, probabilities } = predictions;
    const rows = imageIds.length;
    if (trueClasses.length !== rows || predictedClasses.length !== rows || probabilities.length !== rows) {
      throw new RangeError(`predictions of run ${runId} (${split}): ${rows} image ids, ${trueClasses.length} true classes, ${predictedClasses.length} predicted classes, ${probabilities.length} probabilities`);
    }
    await this.db.transaction(async (tx) => {
      await tx.delete(runImagePredictions).where(and(eq(runImagePredictions.runId, runId), eq(runImagePredictions.split, split)));
      for (let start = 0; start < rows; start += INSERT_CHUNK_ROWS) {
        const values = [];
        for (let i = start; i < Math.min(rows, start + INSERT_CHUNK_ROWS); i++) {
          values.push({ runId, split, imageId: imageIds[i], trueClass: trueClasses[i], predictedClass: predictedClasses[i], probability: probabilities[i] });
        }
        await tx.insert(runImagePredictions).values(values);
      }
    });
  }

  /** A page of one confusion cell's images (or a row or column of it), in image id order. */
  async page(runId: string, cell: ConfusionCell, page: PageRequest): Promise<Page<RunImagePredictionRow>> {
    const rows = await this.db
      .select({
        imageId: runImagePredictions.imageId,
        path: images.path,
        trueClass: runImagePredictions.trueClass,
        predictedClass: runImagePredictions.predictedClass,
        probability: runImagePredictions.probability,
      })
      .from(runImagePredictions)
      .innerJoin(images, eq(images.id, runImagePredictions.imageId))
      .where(
        and(
          eq(runImagePredictions.runId, runId),
          eq(runImagePredictions.split, cell.split),
          cell.trueClass === undefined ? undefined : eq(runImagePredictions.trueClass, cell.trueClass),
          cell.predictedClass === undefined ? undefined : eq(runImagePredictions.predictedClass, cell.predictedClass),
          page.cursor === undefined ? undefined : gt(runImagePredictions.imageId, decodeCursor(page.cursor, 'number')),
        ),
      )
      .orderBy(asc(runImagePredictions.imageId))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.imageId);
  }

  /** Whether the run recorded any prediction (runs trained before predictions were recorded have none). */
  async recorded(runId: string): Promise<boolean> {
    const [row] = await this.db.select({ runId: runImagePredictions.runId }).from(runImagePredictions).where(eq(runImagePredictions.runId, runId)).limit(1);
    return row !== undefined;
  }
}
