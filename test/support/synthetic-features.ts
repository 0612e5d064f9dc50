import { Client } from 'pg';
import { shardDir, shardPath, ShardWriter } from '@featx/features';

const CHUNK_BYTES = 64 * 1024 * 1024;
/** Gaussian noise values drawn once per feature set (see the loop below). */
const NOISE = new Float32Array(1 << 16);

export interface SyntheticFeatureSetOptions {
  classes: string[];
  dim: number;
  rows: { training: number; validation: number; evaluation: number };
  /** true: each class a tight cluster around its own centre; false: labels unrelated to features. */
  separable: boolean;
  seed?: number;
  /** How the shards store the values (default float32); float16 as flattened feature sets are stored. */
  dtype?: 'float16' | 'float32';
  storeId: string;
  featuresDir: string;
}

/**
 * A complete feature set with known structure, written the way the feature store writes one
 * (dataset and image rows, NumPy shards, vector locations), for training tests that need no
 * network.
 */
export async function createSyntheticFeatureSet(db: Client, options: SyntheticFeatureSetOptions): Promise<{ datasetId: string; featureSetId: string }> {
  const random = mulberry32(options.seed ?? 1);
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const noise = Float32Array.from(NOISE, () => gaussian());
  const centres = options.classes.map(() => Array.from({ length: options.dim }, () => gaussian() * 3));
  const { rows: [dataset] } = await db.query(
    "INSERT INTO datasets (name, root, path, layout, classes, status, image_count) VALUES ($1, 'data', $1, 'split-class', $2, 'ready', $3) RETURNING id",
    [`synthetic-${Math.floor(random() * 1e9)}`, JSON.stringify(options.classes), Object.values(options.rows).reduce((a, b) => a + b, 0)],
  );
  const total = Object.values(options.rows).reduce((a, b) => a + b, 0);
  const dtype = options.dtype ?? 'float32';
  const { rows: [set] } = await db.query(
    "INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, dim, status, images, stored) VALUES ($1, 'synthetic', 'avg', $4, '{}', $2, 'complete', $3, $3) RETURNING id",
    [dataset.id, options.dim, total, dtype],
  );
  for (const [split, count] of Object.entries(options.rows)) {
    const labels = Array.from({ length: count }, () => Math.floor(random() * options.classes.length));
    const paths = labels.map((_, i) => `${split}/${i}.jpg`);
    const { rows: inserted } = await db.query(
      "INSERT INTO images (dataset_id, split, label, path, bytes, sha256, mtime_ms) SELECT $1, $2, unnest($3::text[]), unnest($4::text[]), 1, $5, 0 RETURNING id, path",
      [dataset.id, split, labels.map((l) => options.classes[l]), paths, '0'.repeat(64)],
    );
    const idOf = new Map(inserted.map((row) => [row.path as string, Number(row.id)]));
    const imageIds = paths.map((p) => idOf.get(p)!);
    const relative = shardPath({ featureSetId: set.id, split, storeId: options.storeId, index: 0 });
    const writer = await ShardWriter.open(shardDir(options.featuresDir, relative), { dim: options.dim, dtype });
    // Appended in chunks of at most CHUNK_BYTES, so a benchmark's 20,000 x 100,352 set never sits in memory.
    const chunkRows = Math.max(1, Math.floor(CHUNK_BYTES / (options.dim * 4)));
    for (let start = 0; start < count; start += chunkRows) {
      const rows = Math.min(chunkRows, count - start);
      const features = new Float32Array(rows * options.dim);
      for (let i = 0; i < rows; i++) {
        const shape = options.separable ? labels[start + i] : Math.floor(random() * options.classes.length);
        // Noise from a fixed table at a random offset per row: a fresh Gaussian per value made writing a
        // benchmark's billions of values take minutes.
        const offset = Math.floor(random() * NOISE.length);
        for (let d = 0; d < options.dim; d++) features[i * options.dim + d] = centres[shape][d] + noise[(offset + d) % NOISE.length] * 0.5;
      }
      await writer.append({ features, labels: labels.slice(start, start + rows), imageIds: imageIds.slice(start, start + rows) });
    }
    await writer.close();
    const { rows: [shard] } = await db.query(
      "INSERT INTO feature_shards (feature_set_id, split, index, path, rows, writer) VALUES ($1, $2, 0, $3, $4, $5) RETURNING id",
      [set.id, split, relative, count, options.storeId],
    );
    await db.query(
      'INSERT INTO feature_vectors (feature_set_id, image_id, shard_id, row) SELECT $1, unnest($2::bigint[]), $3, generate_subscripts($2::bigint[], 1) - 1',
      [set.id, imageIds, shard.id],
    );
  }
  return { datasetId: dataset.id, featureSetId: set.id };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
