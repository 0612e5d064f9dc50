import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../database';
import { datasets, featureFailures, featureSets, featureShards, featureVectors, images } from '../schema';
import { afterRow, decodeCursor, Page, PageRequest, toPage } from './keyset-page';
import { oldestFirstPage, rowById } from './table-queries';

export type FeatureSetRow = typeof featureSets.$inferSelect;
export type FeatureShardRow = typeof featureShards.$inferSelect;
export type NewFeatureSet = Pick<typeof featureSets.$inferInsert, 'datasetId' | 'model' | 'layer' | 'pooling' | 'dtype' | 'engine' | 'precision' | 'augment' | 'spec'>;
export type AugmentName = FeatureShardRow['augment'];
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface PendingImage {
  id: number;
  path: string;
  label: string;
  split: 'training' | 'validation' | 'evaluation';
}

export class FeatureSetsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Creates the feature set for this configuration, or restarts the existing one: counts are
   * refreshed from what is stored, and the set is running again until the missing images are done.
   */
  async start(set: NewFeatureSet): Promise<FeatureSetRow> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(featureSets)
        .values(set)
        .onConflictDoUpdate({
          target: [featureSets.datasetId, featureSets.model, featureSets.layer, featureSets.pooling, featureSets.dtype, featureSets.engine, featureSets.precision, featureSets.augment],
          set: { spec: set.spec },
        })
        .returning();
      const [{ total }] = await tx
        .select({ total: sql<number>`count(*)::int` })
        .from(images)
        .where(and(eq(images.datasetId, set.datasetId), eq(images.status, 'present'), sql`${images.split} IS NOT NULL`));
      const [{ stored, augmented }] = await tx
        .select({ stored: sql<number>`(count(*) FILTER (WHERE ${featureVectors.augment} = 'none'))::int`, augmented: sql<number>`(count(*) FILTER (WHERE ${featureVectors.augment} <> 'none'))::int` })
        .from(featureVectors)
        .where(eq(featureVectors.featureSetId, row.id));
      const [{ failed }] = await tx.select({ failed: sql<number>`count(*)::int` }).from(featureFailures).where(eq(featureFailures.featureSetId, row.id));
      const complete = stored + failed >= total;
      const [updated] = await tx
        .update(featureSets)
        .set({
          images: total,
          stored,
          failed,
          augmented,
          doneAtStart: stored + failed,
          status: complete ? 'complete' : 'running',
          error: null,
          startedAt: sql`now()`,
          finishedAt: complete ? sql`now()` : null,
        })
        .where(eq(featureSets.id, row.id))
        .returning();
      return updated;
    });
  }

  /** What an extractor's int8 quantization of the set's network measured (its parity to fp32 among it). */
  async recordQuantization(id: string, quantization: Record<string, unknown>): Promise<void> {
    await this.db.update(featureSets).set({ quantization }).where(eq(featureSets.id, id));
  }

  /** A set that cannot go on (its network does not load): failed with the reason until started again. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.db
      .update(featureSets)
      .set({ status: 'failed', error: error.slice(0, 2000), finishedAt: sql`now()` })
      .where(and(eq(featureSets.id, id), eq(featureSets.status, 'running')));
  }

  /**
   * The next `window` images of the set's dataset after `afterId` (by id), and of them the ones
   * still to do: present, in a split, with neither a vector nor a failure. Each call reads one
   * index range of `window` images and probes the vectors and failures of those images only, so a
   * page costs the same at image 1,000,000 as at image 1 (a join against all of the set's vectors
   * grew with the set: 55 ms a page at 100k vectors). `scannedTo` is the last id read, null when
   * no image follows `afterId`.
   */
  async pendingImages(set: Pick<FeatureSetRow, 'id' | 'datasetId'>, afterId: number, window: number): Promise<{ images: PendingImage[]; scannedTo: number | null }> {
    const scanned = await this.db
      .select({ id: images.id, path: images.path, label: images.label, split: images.split, status: images.status })
      .from(images)
      .where(and(eq(images.datasetId, set.datasetId), gt(images.id, afterId)))
      .orderBy(asc(images.id))
      .limit(window);
    if (scanned.length === 0) return { images: [], scannedTo: null };
    const candidates = scanned.filter((image) => image.status === 'present' && image.split !== null);
    const ids = candidates.map((image) => image.id);
    const [stored, failed] = await Promise.all([this.imagesAmong(this.db, featureVectors, set.id, ids), this.imagesAmong(this.db, featureFailures, set.id, ids)]);
    return {
      images: candidates.filter((image) => !stored.has(image.id) && !failed.has(image.id)).map(({ id, path, label, split }) => ({ id, path, label, split: split! })),
      scannedTo: scanned[scanned.length - 1]!.id,
    };
  }

  get(id: string): Promise<FeatureSetRow | undefined> {
    return rowById(this.db, featureSets, id);
  }

  /** A page of the feature sets (of one dataset, given its id), oldest first. */
  list(page: PageRequest, datasetId?: string): Promise<Page<FeatureSetRow>> {
    return oldestFirstPage(this.db, featureSets, page, featureSets.datasetId, datasetId);
  }

  async datasetOf(set: Pick<FeatureSetRow, 'datasetId'>) {
    const [row] = await this.db.select().from(datasets).where(eq(datasets.id, set.datasetId));
    return row;
  }

  /** The set's shards (of one split), the images' own and, with `augmented`, also those of augmented rows. */
  async shards(featureSetId: string, split?: string, options: { augmented: boolean } = { augmented: true }): Promise<FeatureShardRow[]> {
    return this.db
      .select()
      .from(featureShards)
      .where(
        and(
          eq(featureShards.featureSetId, featureSetId),
          split ? eq(featureShards.split, split as FeatureShardRow['split']) : undefined,
          options.augmented ? undefined : eq(featureShards.augment, 'none'),
        ),
      )
      .orderBy(asc(featureShards.split), asc(featureShards.augment), asc(featureShards.index));
  }

  shard(id: string): Promise<FeatureShardRow | undefined> {
    return rowById(this.db, featureShards, id);
  }

  /**
   * Stored vectors per class label of one split (for class weights), from the database alone:
   * images, not augmented rows (every stored training image has its mirror, so the proportions are the same).
   */
  async labelCounts(featureSetId: string, split: FeatureShardRow['split']): Promise<Map<string, number>> {
    const rows = await this.db
      .select({ label: images.label, count: sql<number>`count(*)::int` })
      .from(featureVectors)
      .innerJoin(images, eq(images.id, featureVectors.imageId))
      .where(and(eq(featureVectors.featureSetId, featureSetId), eq(featureVectors.augment, 'none'), eq(images.split, split)))
      .groupBy(images.label);
    return new Map(rows.map((r) => [r.label, r.count]));
  }

  /**
   * A run's validation split where the set has none: within each class, round(share × its stored
   * training images) of them (all but one at most), in md5(image id) order, the way class-layout
   * datasets are split: exact per class, the same images for every run at the same share, chosen
   * by Postgres. With how many mirrors they have, rows that leave training with them.
   */
  async heldOutTrainingImages(featureSetId: string, share: number): Promise<{ imageIds: number[]; mirrors: number }> {
    const result = await this.db.execute<{ image_id: string; mirrors: number }>(sql`
      WITH ranked AS (
        SELECT v.image_id,
               row_number() OVER (PARTITION BY i.label ORDER BY md5(v.image_id::text), v.image_id) AS rank,
               count(*) OVER (PARTITION BY i.label) AS total
        FROM ${featureVectors} v JOIN ${images} i ON i.id = v.image_id
        WHERE v.feature_set_id = ${featureSetId} AND v.augment = 'none' AND i.split = 'training'
      )
      SELECT r.image_id,
             (SELECT count(*)::int FROM ${featureVectors} m
              WHERE m.feature_set_id = ${featureSetId} AND m.image_id = r.image_id AND m.augment <> 'none') AS mirrors
      FROM ranked r
      WHERE r.rank <= least(round(r.total * ${share}::numeric), r.total - 1)
      ORDER BY r.image_id`);
    return { imageIds: result.rows.map((row) => Number(row.image_id)), mirrors: result.rows.reduce((sum, row) => sum + row.mirrors, 0) };
  }

  /** A page of the set's shards in (split, index) order. */
  async shardsPage(featureSetId: string, page: PageRequest): Promise<Page<FeatureShardRow>> {
    const rows = await this.db
      .select()
      .from(featureShards)
      .where(
        and(
          eq(featureShards.featureSetId, featureSetId),
          page.cursor === undefined ? undefined : afterRow(featureShards, featureShards.id, [featureShards.split, featureShards.index], decodeCursor(page.cursor, 'string')),
        ),
      )
      .orderBy(asc(featureShards.split), asc(featureShards.index))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.id);
  }

  /**
   * A page of the set's failures in image id order (the primary key's), with each image's path:
   * the page is taken from the failures first and only its rows are joined to their images (a
   * merge join over images grew with the table).
   */
  async failures(featureSetId: string, page: PageRequest): Promise<Page<{ imageId: number; path: string; reason: string; at: Date }>> {
    const failed = this.db
      .select({ imageId: featureFailures.imageId, reason: featureFailures.reason, at: featureFailures.createdAt })
      .from(featureFailures)
      .where(and(eq(featureFailures.featureSetId, featureSetId), page.cursor === undefined ? undefined : gt(featureFailures.imageId, decodeCursor(page.cursor, 'number'))))
      .orderBy(asc(featureFailures.imageId))
      .limit(page.limit + 1)
      .as('failed');
    const rows = await this.db
      .select({ imageId: failed.imageId, path: images.path, reason: failed.reason, at: failed.at })
      .from(failed)
      .innerJoin(images, eq(images.id, failed.imageId))
      .orderBy(asc(failed.imageId));
    return toPage(rows, page.limit, (row) => row.imageId);
  }

  /** A page of where the set's images' vectors live (shard and row), in image id order; augmented rows are in their shards. */
  async vectorsPage(featureSetId: string, page: PageRequest): Promise<Page<{ imageId: number; shardId: string; row: number }>> {
    const rows = await this.db
      .select({ imageId: featureVectors.imageId, shardId: featureVectors.shardId, row: featureVectors.row })
      .from(featureVectors)
      .where(
        and(
          eq(featureVectors.featureSetId, featureSetId),
          eq(featureVectors.augment, 'none'),
          page.cursor === undefined ? undefined : gt(featureVectors.imageId, decodeCursor(page.cursor, 'number')),
        ),
      )
      .orderBy(asc(featureVectors.imageId))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.imageId);
  }

  /** Runs `work` holding the set's row lock: writers of one set take turns, so dedupe checks are exact. */
  async withSetLock<T>(featureSetId: string, work: (tx: Transaction, set: FeatureSetRow) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const [set] = await tx.select().from(featureSets).where(eq(featureSets.id, featureSetId)).for('update');
      if (!set) throw new FeatureSetNotFoundError(featureSetId);
      return work(tx, set);
    });
  }

  /**
   * Of these images, the ones that already have a vector, by augment (the image's own: `none`; its
   * mirror's: `hflip`), and the ones that are not images of the set's dataset (inside a
   * `withSetLock` transaction): one query for a whole group, in place of Postgres checking each
   * vector row's image on its own (see `featureVectors`). Only those rows come back, none in the
   * usual case. Each id is two index probes whatever the tables' sizes: as joins, a group of
   * thousands of ids made the planner hash whole tables (a scan of all images).
   */
  async checkImages(
    tx: Transaction,
    set: Pick<FeatureSetRow, 'id' | 'datasetId'>,
    imageIds: number[],
  ): Promise<{ stored: Record<AugmentName, Set<number>>; foreign: Set<number> }> {
    const stored: Record<AugmentName, Set<number>> = { none: new Set(), hflip: new Set() };
    const foreign = new Set<number>();
    if (imageIds.length === 0) return { stored, foreign };
    const { rows } = await tx.execute<{ image_id: string; is_foreign: boolean; augment: AugmentName | null }>(sql`
      SELECT asked.image_id, known.id IS NULL AS is_foreign, done.augment
      FROM unnest(${idArray(imageIds)}::bigint[]) AS asked(image_id)
      LEFT JOIN LATERAL (SELECT ${images.id} FROM ${images} WHERE ${images.id} = asked.image_id AND ${images.datasetId} = ${set.datasetId} LIMIT 1) known ON true
      LEFT JOIN LATERAL (
        SELECT ${featureVectors.augment} AS augment FROM ${featureVectors}
        WHERE ${featureVectors.featureSetId} = ${set.id} AND ${featureVectors.imageId} = asked.image_id
      ) done ON true
      WHERE known.id IS NULL OR done.augment IS NOT NULL`);
    for (const row of rows) {
      if (row.is_foreign) foreign.add(Number(row.image_id));
      else stored[row.augment!].add(Number(row.image_id));
    }
    return { stored, foreign };
  }

  /** Of these images, the ones that already have a failure (inside a `withSetLock` transaction). */
  failedAmong(tx: Transaction, featureSetId: string, imageIds: number[]): Promise<Set<number>> {
    return this.imagesAmong(tx, featureFailures, featureSetId, imageIds);
  }

  /** The shard this writer appends to for (set, split, augment), created when there is none open. */
  async openShard(
    tx: Transaction,
    place: { featureSetId: string; split: FeatureShardRow['split']; augment: AugmentName },
    writer: string,
    pathOf: (index: number) => string,
  ): Promise<FeatureShardRow> {
    const { featureSetId, split, augment } = place;
    const ofPlace = and(eq(featureShards.featureSetId, featureSetId), eq(featureShards.split, split), eq(featureShards.augment, augment));
    const [open] = await tx
      .select()
      .from(featureShards)
      .where(and(ofPlace, eq(featureShards.writer, writer), eq(featureShards.status, 'open')))
      .orderBy(desc(featureShards.index))
      .limit(1);
    if (open) return open;
    const [{ next }] = await tx
      .select({ next: sql<number>`coalesce(max(${featureShards.index}) + 1, 0)::int` })
      .from(featureShards)
      .where(ofPlace);
    const [created] = await tx.insert(featureShards).values({ featureSetId, split, augment, index: next, path: pathOf(next), writer }).returning();
    return created;
  }

  /** Records appended rows: their vectors' locations, the shard's committed length, the set's counts. */
  async recordAppend(tx: Transaction, shard: FeatureShardRow, imageIds: number[], bytes: number): Promise<void> {
    // The ids as one array parameter: drizzle building a 4-column VALUES row per vector was a third
    // of the store's CPU at 1,000-vector group commits (bench:scale).
    await tx.execute(sql`
      INSERT INTO ${featureVectors} (feature_set_id, image_id, augment, shard_id, row)
      SELECT ${shard.featureSetId}, image_id, ${shard.augment}, ${shard.id}, ${shard.rows}::int + ordinality::int - 1
      FROM unnest(${idArray(imageIds)}::bigint[]) WITH ORDINALITY AS appended(image_id, ordinality)`);
    await tx
      .update(featureShards)
      .set({ rows: shard.rows + imageIds.length, bytes, updatedAt: sql`now()` })
      .where(eq(featureShards.id, shard.id));
    shard.rows += imageIds.length;
    shard.bytes = bytes;
  }

  async sealShard(tx: Transaction, shard: FeatureShardRow, checksum: string, bytes: number): Promise<void> {
    await tx.update(featureShards).set({ status: 'sealed', checksum, bytes, updatedAt: sql`now()` }).where(eq(featureShards.id, shard.id));
  }

  /** Records failures for images that have no vector; a later success replaces an earlier failure. */
  async recordFailures(tx: Transaction, featureSetId: string, failures: Array<{ imageId: number; reason: string }>): Promise<number> {
    if (failures.length === 0) return 0;
    const inserted = await tx
      .insert(featureFailures)
      .values(failures.map((f) => ({ featureSetId, imageId: f.imageId, reason: f.reason.slice(0, 2000) })))
      .onConflictDoNothing()
      .returning({ imageId: featureFailures.imageId });
    return inserted.length;
  }

  async clearFailures(tx: Transaction, featureSetId: string, imageIds: number[]): Promise<number> {
    if (imageIds.length === 0) return 0;
    const deleted = await tx
      .delete(featureFailures)
      .where(and(eq(featureFailures.featureSetId, featureSetId), sql`${featureFailures.imageId} = ANY(${idArray(imageIds)}::bigint[])`))
      .returning({ imageId: featureFailures.imageId });
    return deleted.length;
  }

  /** Moves the counts on and completes the set when every image has a vector or a failure (augmented rows come with their image's). */
  async addCounts(tx: Transaction, set: FeatureSetRow, delta: { stored: number; failed: number; augmented?: number; dim?: number }): Promise<FeatureSetRow> {
    const stored = set.stored + delta.stored;
    const failed = set.failed + delta.failed;
    const complete = stored + failed >= set.images;
    const [row] = await tx
      .update(featureSets)
      .set({
        stored,
        failed,
        augmented: set.augmented + (delta.augmented ?? 0),
        ...(delta.dim && set.dim === null ? { dim: delta.dim } : {}),
        status: complete ? 'complete' : set.status === 'failed' ? 'failed' : 'running',
        finishedAt: complete && set.status !== 'complete' ? sql`now()` : set.finishedAt,
      })
      .where(eq(featureSets.id, set.id))
      .returning();
    return row;
  }

  /** Of these images, the ones with a row in `table` for the set (their own vector, not a mirror's; or a failure). */
  private async imagesAmong(tx: Transaction | Database, table: typeof featureVectors | typeof featureFailures, featureSetId: string, imageIds: number[]): Promise<Set<number>> {
    if (imageIds.length === 0) return new Set();
    const rows = await tx
      .select({ imageId: table.imageId })
      .from(table)
      .where(
        and(
          eq(table.featureSetId, featureSetId),
          table === featureVectors ? eq(featureVectors.augment, 'none') : undefined,
          sql`${table.imageId} = ANY(${idArray(imageIds)}::bigint[])`,
        ),
      );
    return new Set(rows.map((r) => r.imageId));
  }
}

/** Image ids as one array parameter (`= ANY($n)`), not one parameter each as `inArray` writes them. */
function idArray(ids: number[]) {
  return sql.param(ids);
}

export class FeatureSetNotFoundError extends Error {
  override readonly name = 'FeatureSetNotFoundError';
  constructor(readonly featureSetId: string) {
    super(`feature set ${featureSetId} does not exist`);
  }
}
