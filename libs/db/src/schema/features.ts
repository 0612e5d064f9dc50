import { bigint, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { AUGMENTS, ENGINES, PRECISIONS } from '@featx/contracts';
import { createdAt, ownedBy, timestamptz, uuidPrimaryKey } from './columns';
import { datasets, images } from './datasets';

/**
 * The features of one dataset under one network configuration. Asking for the same
 * configuration again resumes this set: only images with neither a vector nor a failure are done.
 */
export const featureSets = pgTable(
  'feature_sets',
  {
    id: uuidPrimaryKey(),
    datasetId: ownedBy('dataset_id', () => datasets.id),
    /** `resnet50`, or a model folder as `<data root>:<path>`. */
    model: text('model').notNull(),
    /** Layer whose output is the feature map ('' = the network's default feature layer). */
    layer: text('layer').notNull().default(''),
    pooling: text('pooling', { enum: ['none', 'avg', 'max', 'avg+max'] }).notNull(),
    dtype: text('dtype', { enum: ['float16', 'float32'] }).notNull(),
    /** What runs the network: `tfjs`, `onnx` (ONNX Runtime), or `auto` = the fastest each extractor has. */
    engine: text('engine', { enum: ENGINES }).notNull().default('auto'),
    /** `fp32`, or `int8`: the network quantized on the onnx engine (see `quantization`). */
    precision: text('precision', { enum: PRECISIONS }).notNull().default('fp32'),
    /** `hflip`: the images' mirrors are stored too, as augmented rows (their own shards): training rows, and test-time augmentation of validation and evaluation; `none`: not. (Sets extracted before validation and evaluation were mirrored hold training mirrors only.) */
    augment: text('augment', { enum: AUGMENTS }).notNull().default('none'),
    /** int8: the quantization an extractor made and its parity to fp32 (QuantizationReport); null for fp32. */
    quantization: jsonb('quantization').$type<Record<string, unknown>>(),
    /** Values per vector; known once the first batch is stored. */
    dim: integer('dim'),
    /** Everything the extractor needs to rebuild the network (input size, preprocessing, …). */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['running', 'complete', 'failed'] }).notNull().default('running'),
    /** Images of the dataset when the set was (re)planned. */
    images: integer('images').notNull().default(0),
    /** Images with a vector (augmented rows are not images: see `augmented`). */
    stored: integer('stored').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Augmented rows stored (an hflip set: one per stored image). */
    augmented: integer('augmented').notNull().default(0),
    /** stored + failed when the set was last (re)started: the rate counts only this run's work. */
    doneAtStart: integer('done_at_start').notNull().default(0),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: timestamptz('started_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    uniqueIndex('feature_sets_config_key').on(t.datasetId, t.model, t.layer, t.pooling, t.dtype, t.engine, t.precision, t.augment),
    // GET /feature-sets pages oldest first, all sets or one dataset's.
    index('feature_sets_created_at_id_idx').on(t.createdAt, t.id),
    index('feature_sets_dataset_created_at_id_idx').on(t.datasetId, t.createdAt, t.id),
  ],
);

/**
 * An append-only group of NumPy files (features.npy, labels.npy, image_ids.npy) for one split of a
 * feature set. `rows` is the committed length: rows past it on disk are a crash's leftovers and
 * are cut off when the shard is reopened.
 */
export const featureShards = pgTable(
  'feature_shards',
  {
    id: uuidPrimaryKey(),
    featureSetId: ownedBy('feature_set_id', () => featureSets.id),
    split: text('split', { enum: ['training', 'validation', 'evaluation'] }).notNull(),
    /** `none`: the images' own vectors; `hflip`: their mirrors' (augmented rows are never in the same shard as the images'). */
    augment: text('augment', { enum: AUGMENTS }).notNull().default('none'),
    /** Sequence number within (feature set, split, augment). */
    index: integer('index').notNull(),
    /** Folder of the shard, relative to the feature store's root. */
    path: text('path').notNull(),
    rows: integer('rows').notNull().default(0),
    bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
    /** sha256 over the three files, set when the shard is sealed. */
    checksum: text('checksum'),
    status: text('status', { enum: ['open', 'sealed'] }).notNull().default('open'),
    /** The feature-store replica that appends to it while open. */
    writer: text('writer').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('feature_shards_set_split_augment_index_key').on(t.featureSetId, t.split, t.augment, t.index)],
);

/** The image of a feature set a row is about: at most one vector and one failure each. */
const featureSetImage = () => ({
  featureSetId: ownedBy('feature_set_id', () => featureSets.id),
  imageId: bigint('image_id', { mode: 'number' })
    .notNull()
    .references(() => images.id, { onDelete: 'cascade' }),
});

/**
 * Where each image's one vector lives (and, in an augmented set, its mirror's one vector): the
 * primary key is what makes a redelivered batch harmless. One row per vector, so every per-row cost is paid 20,000 times a second at the target rate: the
 * feature set is the only foreign key (deleting a set deletes its vectors). The image and the shard
 * are checked by the feature store instead (its images are the set's dataset's, checked per group
 * in one query; its shards are its own, made in the same transaction), and nothing deletes either
 * on its own: Postgres checking each row's image and shard one by one made an insert cost ~4x one
 * without them, with an index on the shard for those cascades alone (bench:scale, "Scale").
 */
export const featureVectors = pgTable(
  'feature_vectors',
  {
    featureSetId: ownedBy('feature_set_id', () => featureSets.id),
    imageId: bigint('image_id', { mode: 'number' }).notNull(),
    /** `none`: the image's vector; `hflip`: its mirror's (in a shard of that augment). */
    augment: text('augment', { enum: AUGMENTS }).notNull().default('none'),
    shardId: uuid('shard_id').notNull(),
    row: integer('row').notNull(),
  },
  (t) => [primaryKey({ columns: [t.featureSetId, t.imageId, t.augment] })],
);

/** Images that could not be turned into a vector (unreadable, corrupt, gone), with the reason. */
export const featureFailures = pgTable(
  'feature_failures',
  {
    ...featureSetImage(),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.featureSetId, t.imageId] })],
);

/**
 * The feature-store replicas, each under its stable id (FEATX_STORE_ID, the `writer` of its
 * shards). A store records itself when it starts and every `heartbeat_ms` after; readers tell from
 * `last_seen_at` whether it is up (the rule: `featureStoreState` in @featx/contracts).
 */
export const featureStores = pgTable('feature_stores', {
  id: text('id').primaryKey(),
  /** The host it last ran on (os.hostname, or FEATX_STORE_HOST). */
  host: text('host').notNull(),
  /** The featx version it last ran. */
  version: text('version').notNull(),
  /** The interval it promised to record itself at. */
  heartbeatMs: integer('heartbeat_ms').notNull(),
  startedAt: timestamptz('started_at').notNull().defaultNow(),
  lastSeenAt: timestamptz('last_seen_at').notNull().defaultNow(),
});
