import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, uniqueIndex, varchar } from 'drizzle-orm/pg-core';
import { createdAt, ownedBy, timestamptz, uuidPrimaryKey } from './columns';

/**
 * A folder of labelled images, registered once and re-scanned on demand. It is identified by where
 * it lives (data root name + path under it), so registering the same folder again updates it.
 */
export const datasets = pgTable(
  'datasets',
  {
    id: uuidPrimaryKey(),
    name: text('name').notNull(),
    /** Name of the configured data root the folder lives under (see FEATX_DATA_ROOTS). */
    root: text('root').notNull(),
    /** The folder, relative to its data root, with '/' separators. */
    path: text('path').notNull(),
    /** How labels and splits are read from the tree: split-class, food5k or class. */
    layout: text('layout', { enum: ['split-class', 'food5k', 'class'] }).notNull(),
    /** Class names in label-index order (sorted names unless the layout fixes an order). */
    classes: jsonb('classes').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    /** For the class layout: the seeded, stratified split. */
    splitSeed: integer('split_seed'),
    splitRatios: jsonb('split_ratios').$type<{ training: number; validation: number; evaluation: number }>(),
    status: text('status', { enum: ['registering', 'ready', 'failed'] }).notNull().default('registering'),
    error: text('error'),
    imageCount: integer('image_count').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    /** When the last complete scan finished. */
    scannedAt: timestamptz('scanned_at'),
  },
  (t) => [uniqueIndex('datasets_root_path_key').on(t.root, t.path), index('datasets_created_at_id_idx').on(t.createdAt, t.id)],
);

/**
 * One image of a dataset, by reference: images travel through featx as (root, path) pairs, never as bytes.
 * Feature sets and training runs refer to images by id.
 */
export const images = pgTable(
  'images',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    datasetId: ownedBy('dataset_id', () => datasets.id),
    split: text('split', { enum: ['training', 'validation', 'evaluation'] }),
    label: text('label').notNull(),
    /** Relative to the dataset's data root, '/' separators. */
    path: text('path').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: varchar('sha256', { length: 64 }).notNull(),
    /** File modification time in ms, to skip re-hashing unchanged files on a re-scan. */
    mtimeMs: bigint('mtime_ms', { mode: 'number' }).notNull(),
    /** present: seen by the last scan; missing: gone since; failed: unreadable (see error). */
    status: text('status', { enum: ['present', 'missing', 'failed'] }).notNull().default('present'),
    error: text('error'),
    createdAt: createdAt(),
    /** Changes only when the image's content, label, split or status changes. */
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    /** Start of the last scan that saw the file; older than the dataset's last scan means it is gone. */
    seenAt: timestamptz('seen_at').notNull().defaultNow(),
    /** When a re-scan last found the file's content, label or split changed; null: as first registered. */
    changedAt: timestamptz('changed_at'),
  },
  (t) => [
    uniqueIndex('images_dataset_path_key').on(t.datasetId, t.path),
    index('images_dataset_split_label_idx').on(t.datasetId, t.split, t.label),
    // Pages of one dataset's images in id order: GET /datasets/:id/images and the extraction planner.
    index('images_dataset_id_idx').on(t.datasetId, t.id),
    // A dataset's missing or unreadable files in id order: GET /datasets/:id/images?status=.
    index('images_dataset_status_id_idx').on(t.datasetId, t.status, t.id),
    // A dataset's changed files in id order (GET /datasets/:id/images?status=changed): few rows, so partial.
    index('images_dataset_changed_id_idx').on(t.datasetId, t.id).where(sql`${t.changedAt} IS NOT NULL`),
  ],
);
