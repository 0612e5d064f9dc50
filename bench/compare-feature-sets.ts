/**
 * `node -r ./tools/register.js bench/compare-feature-sets.ts <featureSetA> <featureSetB>`: compares
 * two feature sets of one dataset vector by vector (e.g. the same network on the onnx and the tfjs
 * engine): cosine similarity and largest absolute difference per image, read from the shards.
 */
import { Client } from 'pg';
import { ShardReader, shardDir } from '@featx/features';
import { cosineSimilarity } from '@featx/onnx';
import { loadConfig } from '@featx/runtime';

async function vectors(db: Client, featuresDir: string, featureSetId: string): Promise<Map<number, Float32Array>> {
  const { rows: shards } = await db.query('SELECT path, rows FROM feature_shards WHERE feature_set_id = $1', [featureSetId]);
  const byImage = new Map<number, Float32Array>();
  for (const shard of shards) {
    const reader = await ShardReader.open(shardDir(featuresDir, shard.path), { rows: shard.rows });
    const batch = await reader.read(0, reader.rows);
    for (let i = 0; i < reader.rows; i++) byImage.set(Number(batch.imageIds[i]), batch.features.slice(i * reader.dim, (i + 1) * reader.dim));
    await reader.close();
  }
  return byImage;
}

async function main() {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: compare-feature-sets.ts <featureSetA> <featureSetB>');
  const config = loadConfig('feature-store');
  const db = new Client({ connectionString: config.database.url });
  await db.connect();
  const { rows: sets } = await db.query('SELECT id, dataset_id, model, layer, pooling, dtype, engine, stored, failed FROM feature_sets WHERE id = ANY($1)', [[a, b]]);
  if (sets.length !== 2) throw new Error(`need two feature sets, found ${sets.length}`);
  if (sets[0].dataset_id !== sets[1].dataset_id) throw new Error('the feature sets belong to different datasets');
  const [va, vb] = [await vectors(db, config.features.dir, a), await vectors(db, config.features.dir, b)];
  await db.end();

  let compared = 0;
  let below = 0;
  let minCosine = 1;
  let sumCosine = 0;
  let maxAbsDiff = 0;
  for (const [image, x] of va) {
    const y = vb.get(image);
    if (!y) continue;
    for (let i = 0; i < x.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[i]! - y[i]!));
    const cosine = cosineSimilarity(x, y);
    compared += 1;
    sumCosine += cosine;
    minCosine = Math.min(minCosine, cosine);
    if (cosine < 0.9999) below += 1;
  }
  console.log(JSON.stringify({ sets, onlyInA: va.size - compared, onlyInB: vb.size - compared, compared, minCosine, meanCosine: sumCosine / compared, belowPoint9999: below, maxAbsDiff }, null, 1));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
