import { and, asc, eq, gt, sql } from 'drizzle-orm';
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

/**
 * Rows per INSERT: each column goes as one array parameter and Postgres unnests them, which costs
 * a twentieth of the CPU a VALUES row per prediction cost (measured 2026-12-02: 50,000 rows in
 * 0.10-0.13 s of this process's CPU against 2.2-2.7 s; 2.3-2.7 s wall, Postgres's share, against
 * 3.0-5.8 s), and one statement stays under a megabyte.
 */
const INSERT_CHUNK_ROWS = 50000;

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
    for (let i = 0; i < rows; i++) {
      if (!Number.isSafeInteger(imageIds[i])) throw new RangeError(`predictions of run ${runId} (${split}): row ${i} has no image id (${imageIds[i]}): the shard rows were read without their ids`);
    }
    await this.db.transaction(async (tx) => {
      await tx.delete(runImagePredictions).where(and(eq(runImagePredictions.runId, runId), eq(runImagePredictions.split, split)));
      for (let start = 0; start < rows; start += INSERT_CHUNK_ROWS) {
        const end = Math.min(rows, start + INSERT_CHUNK_ROWS);
        // One parameter per column: drizzle would expand a bare array into a parameter per value.
        const column = (values: ArrayLike<number>) => sql.param(Array.prototype.slice.call(values, start, end) as number[]);
        const t = runImagePredictions;
        await tx.execute(sql`
          INSERT INTO ${t} (${sql.identifier(t.runId.name)}, ${sql.identifier(t.split.name)}, ${sql.identifier(t.imageId.name)}, ${sql.identifier(t.trueClass.name)}, ${sql.identifier(t.predictedClass.name)}, ${sql.identifier(t.probability.name)})
          SELECT ${runId}, ${split}, * FROM unnest(${column(imageIds)}::bigint[], ${column(trueClasses)}::smallint[], ${column(predictedClasses)}::smallint[], ${column(probabilities)}::real[])`);
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
