/**
 * `node -r ./tools/register.js bench/verify-features.ts <featureSetId> [sample]`: checks a stored
 * feature set against the network. numpy loads every shard (mmap, no featx code) and compares the
 * stored vectors of a random sample of images with vectors this script computes afresh.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { shardDir, writeNpy } from '@featx/features';
import { DataRoots, parseRootRef, resolveRootRef } from '@featx/datasets';
import { loadConfig } from '@featx/runtime';
import { createEngineFeatureExtractor } from '@featx/onnx';
import { decodeImage } from '@featx/vision';

async function main() {
  const [featureSetId, sampleArg] = process.argv.slice(2);
  if (!featureSetId) throw new Error('usage: verify-features.ts <featureSetId> [sample]');
  const config = loadConfig('extractor');
  const roots = await DataRoots.open(config.dataRoots);
  const db = new Client({ connectionString: config.database.url });
  await db.connect();
  const { rows: [set] } = await db.query('SELECT * FROM feature_sets WHERE id = $1', [featureSetId]);
  const { rows: [dataset] } = await db.query('SELECT root FROM datasets WHERE id = $1', [set.dataset_id]);
  const { rows: shards } = await db.query('SELECT path, rows FROM feature_shards WHERE feature_set_id = $1', [featureSetId]);
  const { rows: sample } = await db.query('SELECT i.id, i.path FROM feature_vectors v JOIN images i ON i.id = v.image_id WHERE v.feature_set_id = $1 ORDER BY random() LIMIT $2', [featureSetId, Number(sampleArg ?? 200)]);
  await db.end();

  const model = set.model === 'resnet50' ? 'resnet50' : (await resolveRootRef(roots, parseRootRef(set.model))).absolutePath;
  // The set's own engine (and, for onnx, the same cached export the extractors ran).
  const network = await createEngineFeatureExtractor({
    model,
    layer: set.layer || undefined,
    pooling: set.pooling,
    engine: set.engine,
    onnx: config.vision.onnx,
    backend: 'wasm',
    log: () => undefined,
  });
  const expected = new Float32Array(sample.length * network.dim);
  for (const [i, image] of sample.entries()) {
    const file = await resolveRootRef(roots, { root: dataset.root, path: image.path });
    const decoded = await decodeImage(file.absolutePath, { size: network.inputSize });
    expected.set((await network.extract([decoded])).data, i * network.dim);
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-verify-'));
  await writeNpy(path.join(tmp, 'expected.npy'), '<f4', [sample.length, network.dim], expected);
  await writeNpy(path.join(tmp, 'ids.npy'), '<i8', [sample.length], BigInt64Array.from(sample.map((s) => BigInt(s.id))));
  const script = `
import json, sys, numpy as np
shards, tmp = json.loads(sys.argv[1]), sys.argv[2]
feats, ids = [], []
for s in shards:
    feats.append(np.load(s['dir'] + '/features.npy', mmap_mode='r')[: s['rows']])
    ids.append(np.load(s['dir'] + '/image_ids.npy', mmap_mode='r')[: s['rows']])
feats, ids = np.concatenate(feats), np.concatenate(ids)
where = {int(k): n for n, k in enumerate(ids)}
expected, want = np.load(tmp + '/expected.npy'), np.load(tmp + '/ids.npy')
stored = np.stack([np.asarray(feats[where[int(k)]], dtype=np.float32) for k in want])
print(json.dumps({'rows': int(feats.shape[0]), 'dim': int(feats.shape[1]), 'unique_ids': int(len(where)), 'sample': int(len(want)),
  'identical': int((stored == expected).all(axis=1).sum()), 'max_abs_diff': float(np.abs(stored - expected).max())}))
`;
  const dirs = shards.map((s) => ({ dir: shardDir(config.features.dir, s.path), rows: s.rows }));
  console.log(execFileSync('python3', ['-c', script, JSON.stringify(dirs), tmp], { encoding: 'utf8' }).trim());
  await fs.rm(tmp, { recursive: true, force: true });
  network.dispose();
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
