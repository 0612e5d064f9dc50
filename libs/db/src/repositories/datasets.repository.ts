import { and, asc, eq, gt, inArray, isNotNull, lt, ne, sql } from 'drizzle-orm';
import type { Database } from '../database';
import { datasets, images } from '../schema';
import { decodeCursor, Page, PageRequest, toPage } from './keyset-page';
import { oldestFirstPage, rowById } from './table-queries';

export type DatasetRow = typeof datasets.$inferSelect;
export type NewDataset = Pick<typeof datasets.$inferInsert, 'name' | 'root' | 'path' | 'layout' | 'classes' | 'splitSeed' | 'splitRatios'>;
export type ImageRow = typeof images.$inferSelect;
/** Which of a dataset's images a page lists: those in one status, or those a re-scan found changed. */
export type ImageFilter = ImageRow['status'] | 'changed';
export const IMAGE_FILTERS = ['present', 'missing', 'failed', 'changed'] as const satisfies readonly ImageFilter[];

export interface KnownImage {
  id: number;
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
  label: string;
  split: ImageRow['split'];
  status: ImageRow['status'];
}

export interface ImageUpsert {
  path: string;
  split: ImageRow['split'];
  label: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

export interface SplitClassCount {
  split: string | null;
  label: string;
  count: number;
}

export class DatasetsRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the dataset or, for a folder registered before, updates its description. */
  async upsert(dataset: NewDataset): Promise<DatasetRow> {
    const [row] = await this.db
      .insert(datasets)
      .values({ ...dataset, status: 'registering' })
      .onConflictDoUpdate({
        target: [datasets.root, datasets.path],
        set: {
          name: dataset.name,
          layout: dataset.layout,
          classes: dataset.classes,
          splitSeed: dataset.splitSeed,
          splitRatios: dataset.splitRatios,
          status: 'registering',
          error: null,
          updatedAt: sql`now()`,
        },
      })
      .returning();
    return row;
  }

  get(id: string): Promise<DatasetRow | undefined> {
    return rowById(this.db, datasets, id);
  }

  /** An image with the data root of its dataset: where its file is. */
  async image(id: number): Promise<(ImageRow & { root: string }) | undefined> {
    const [row] = await this.db.select({ image: images, root: datasets.root }).from(images).innerJoin(datasets, eq(datasets.id, images.datasetId)).where(eq(images.id, id));
    return row && { ...row.image, root: row.root };
  }

  /** A page of the datasets, oldest first. */
  list(page: PageRequest): Promise<Page<DatasetRow>> {
    return oldestFirstPage(this.db, datasets, page);
  }

  /** A page of a dataset's images in id order (the order they were first registered in); `filter`: only those (see ImageFilter). */
  async imagesPage(datasetId: string, page: PageRequest, filter?: ImageFilter): Promise<Page<ImageRow>> {
    const rows = await this.db
      .select()
      .from(images)
      .where(
        and(
          eq(images.datasetId, datasetId),
          filter === undefined ? undefined : filter === 'changed' ? isNotNull(images.changedAt) : eq(images.status, filter),
          page.cursor === undefined ? undefined : gt(images.id, decodeCursor(page.cursor, 'number')),
        ),
      )
      .orderBy(asc(images.id))
      .limit(page.limit + 1);
    return toPage(rows, page.limit, (row) => row.id);
  }

  async finish(id: string, update: { status: 'ready' | 'failed'; error?: string; scannedAt?: Date; classes?: string[] }): Promise<void> {
    await this.db
      .update(datasets)
      .set({
        status: update.status,
        error: update.error ?? null,
        ...(update.scannedAt ? { scannedAt: update.scannedAt } : {}),
        ...(update.classes ? { classes: update.classes } : {}),
        imageCount: sql`(SELECT count(*) FROM ${images} WHERE ${images.datasetId} = ${id} AND ${images.status} = 'present')::int`,
        updatedAt: sql`now()`,
      })
      .where(eq(datasets.id, id));
  }

  /** What the database knows of these files: the scan compares against it to skip unchanged ones. */
  async knownImages(datasetId: string, paths: string[]): Promise<Map<string, KnownImage>> {
    if (paths.length === 0) return new Map();
    const rows = await this.db
      .select({
        id: images.id,
        path: images.path,
        bytes: images.bytes,
        mtimeMs: images.mtimeMs,
        sha256: images.sha256,
        label: images.label,
        split: images.split,
        status: images.status,
      })
      .from(images)
      .where(and(eq(images.datasetId, datasetId), inArray(images.path, paths)));
    return new Map(rows.map((row) => [row.path, row]));
  }

  /**
   * Writes new and changed images. `keepSplit` leaves an existing row's split alone (the class
   * layout assigns splits after the scan).
   */
  async upsertImages(datasetId: string, rows: ImageUpsert[], seenAt: Date, keepSplit: boolean): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insert(images)
      .values(rows.map((row) => ({ ...row, datasetId, seenAt, status: 'present' as const })))
      .onConflictDoUpdate({
        target: [images.datasetId, images.path],
        set: {
          split: keepSplit ? sql`${images.split}` : sql`excluded.split`,
          label: sql`excluded.label`,
          bytes: sql`excluded.bytes`,
          mtimeMs: sql`excluded.mtime_ms`,
          sha256: sql`excluded.sha256`,
          status: 'present',
          error: null,
          seenAt: sql`excluded.seen_at`,
          updatedAt: sql`now()`,
          changedAt: sql`CASE WHEN ${images.sha256} <> excluded.sha256 OR ${images.label} <> excluded.label OR ${images.split} IS DISTINCT FROM (${keepSplit ? sql`${images.split}` : sql`excluded.split`}) THEN now() ELSE ${images.changedAt} END`,
        },
      });
  }

  /**
   * Up to `count` present images of a split in a fixed pseudo-random order (by the md5 of their
   * id): the same sample each time, spread over the classes and the folder's order.
   */
  async sampleImages(datasetId: string, split: NonNullable<ImageRow['split']>, count: number): Promise<Array<Pick<ImageRow, 'id' | 'path' | 'label'>>> {
    return this.db
      .select({ id: images.id, path: images.path, label: images.label })
      .from(images)
      .where(and(eq(images.datasetId, datasetId), eq(images.status, 'present'), eq(images.split, split)))
      .orderBy(sql`md5(${images.id}::text)`)
      .limit(count);
  }

  /** Marks unchanged images as seen by this scan. */
  async touchImages(ids: number[], seenAt: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db.update(images).set({ seenAt }).where(inArray(images.id, ids));
  }

  /** Images the scan did not see are gone from disk: marked missing, returns how many. */
  async markUnseenMissing(datasetId: string, scanStartedAt: Date): Promise<number> {
    const rows = await this.db
      .update(images)
      .set({ status: 'missing', updatedAt: sql`now()` })
      .where(and(eq(images.datasetId, datasetId), lt(images.seenAt, scanStartedAt), ne(images.status, 'missing')))
      .returning({ id: images.id });
    return rows.length;
  }

  /**
   * Seeded, stratified split for datasets without split folders: within each class, images are
   * ordered by md5(seed:path) and cut at the ratios. Deterministic, exact per class, and done by
   * Postgres so that millions of paths never sit in the service's memory.
   */
  async assignStratifiedSplits(datasetId: string, seed: number, ratios: { training: number; validation: number }): Promise<number> {
    const result = await this.db.execute(sql`
      WITH ranked AS (
        SELECT id,
               row_number() OVER (PARTITION BY label ORDER BY md5(${String(seed)} || ':' || path)) - 1 AS rank,
               count(*) OVER (PARTITION BY label) AS total
        FROM ${images}
        WHERE dataset_id = ${datasetId} AND status = 'present'
      ), wanted AS (
        SELECT id,
               CASE WHEN rank < round(total * ${ratios.training}::float8) THEN 'training'
                    WHEN rank < round(total * ${ratios.training + ratios.validation}::float8) THEN 'validation'
                    ELSE 'evaluation' END AS split
        FROM ranked
      )
      UPDATE ${images} AS i SET split = wanted.split, updated_at = now()
      FROM wanted
      WHERE i.id = wanted.id AND i.split IS DISTINCT FROM wanted.split`);
    return result.rowCount ?? 0;
  }

  async countsBySplitAndClass(datasetId: string): Promise<SplitClassCount[]> {
    return this.db
      .select({ split: images.split, label: images.label, count: sql<number>`count(*)::int` })
      .from(images)
      .where(and(eq(images.datasetId, datasetId), eq(images.status, 'present')))
      .groupBy(images.split, images.label)
      .orderBy(asc(images.split), asc(images.label));
  }

  /**
   * Up to `count` present images of a split, taken class by class in turn (the first by path of
   * each class, then the second…), so that a small sample shows every class: what `npm run demo`
   * classifies at its end.
   */
  async sampleImagesByClass(datasetId: string, split: 'training' | 'validation' | 'evaluation', count: number): Promise<Array<{ path: string; label: string }>> {
    const result = await this.db.execute<{ path: string; label: string }>(sql`
      SELECT path, label FROM (
        SELECT ${images.path} AS path, ${images.label} AS label,
               row_number() OVER (PARTITION BY ${images.label} ORDER BY ${images.path}) AS nth
        FROM ${images}
        WHERE ${images.datasetId} = ${datasetId} AND ${images.split} = ${split} AND ${images.status} = 'present'
      ) ranked
      ORDER BY nth, label
      LIMIT ${count}`);
    return result.rows;
  }
}
