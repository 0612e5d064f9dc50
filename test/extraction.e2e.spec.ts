import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { BusConnection, connectBus, publish } from '@featx/bus';
import { featureBatch } from '@featx/contracts';
import { readNpy, ShardReader, shardDir } from '@featx/features';
import { cosineSimilarity, createEngineFeatureExtractor } from '@featx/onnx';
import { decodeImage, FeatureExtractor, mirrorImage } from '@featx/vision';
import { SHARED_DIR, sharedAvailable, TEST_NATS_URL, typedArraysAcrossRealms } from '@featx/testing';
import { callTestApi, startTestServices, TestServices, runTestCli, TEST_API_TOKEN } from './support/test-services';

const MODEL_DIR = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const CLASSES = ['hat', 'pants', 'shoes'];
const PER_SPLIT = { training: 4, validation: 2, evaluation: 2 } as const;
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const available = sharedAvailable('models/mobilenet_v2_1.0_224') && sharedAvailable('datasets/clothing-small');

/**
 * Extraction end to end on real photos (a clothing-small subset) with the shared MobileNetV2:
 * CLI → API → feature-store (plans work) → extractor (decode, network, feature batches) →
 * feature-store (NumPy shards) — all against the real NATS and Postgres.
 */
(available ? describe : describe.skip)('extracting features (subset of clothing-small, shared MobileNetV2)', () => {
  let dataRoot: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let datasetId: string;
  let reference: FeatureExtractor;
  const files = new Map<string, string>(); // root-relative image path → absolute path

  beforeAll(async () => {
    // The services run in this jest process; int8 calibration runs ONNX Runtime in it (not on a worker).
    typedArraysAcrossRealms();
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-extract-')));
    const folder = path.join(dataRoot, 'clothing-subset');
    for (const [split, count] of Object.entries(PER_SPLIT)) {
      for (const label of CLASSES) {
        const names = (await fs.readdir(path.join(CLOTHING, split, label))).sort().slice(0, count);
        await fs.mkdir(path.join(folder, split, label), { recursive: true });
        for (const name of names) {
          await fs.copyFile(path.join(CLOTHING, split, label, name), path.join(folder, split, label, name));
          files.set(`clothing-subset/${split}/${label}/${name}`, path.join(folder, split, label, name));
        }
      }
    }
    // One corrupt JPEG (truncated) and one text file named .jpg: each fails alone.
    const good = await fs.readFile([...files.values()][0]);
    await fs.writeFile(path.join(folder, 'training', 'hat', 'truncated.jpg'), good.subarray(0, 600));
    await fs.writeFile(path.join(folder, 'training', 'pants', 'not-an-image.jpg'), 'this is text, not a JPEG');

    services = await startTestServices({
      dataRoots: `data=${dataRoot},shared=${SHARED_DIR}`,
      workers: ['ingest', 'feature-store', 'extractor', 'trainer'],
      env: { FEATX_FEATURES_DIR: path.join(dataRoot, 'features'), FEATX_TF_BACKEND: 'wasm', FEATX_WEIGHTS_DIR: path.join(dataRoot, 'weights'), FEATX_WEIGHTS_DOWNLOAD: 'false' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'extraction-test', namespace: services.namespace });
    const added = await cli('datasets', 'add', folder, '--json');
    expect(added.code).toBe(0);
    datasetId = JSON.parse(added.out).dataset.id;
    // The engine the default (auto) sets run on here, from a cache of its own.
    reference = await createEngineFeatureExtractor({ model: MODEL_DIR, pooling: 'avg', backend: 'wasm', onnx: { cacheDir: path.join(dataRoot, 'reference-onnx') }, log: () => undefined });
  }, 120000);

  afterAll(async () => {
    reference?.dispose();
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    if (dataRoot) await fs.rm(dataRoot, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);

  async function featureSet(dtype: string, engine = 'auto', precision = 'fp32', pooling = 'avg', augment = 'none') {
    const { rows } = await db.query(
      "SELECT * FROM feature_sets WHERE dataset_id = $1 AND dtype = $2 AND engine = $3 AND precision = $4 AND pooling = $5 AND augment = $6 AND model <> 'resnet50'",
      [datasetId, dtype, engine, precision, pooling, augment],
    );
    return rows[0];
  }

  /** Every stored row of a set (the images', or the augmented rows of `augment`), read back from its shards: imageId → vector. */
  async function storedVectors(featureSetId: string, augment = 'none'): Promise<Map<number, Float32Array>> {
    const { rows: shards } = await db.query('SELECT path, rows FROM feature_shards WHERE feature_set_id = $1 AND augment = $2', [featureSetId, augment]);
    const vectors = new Map<number, Float32Array>();
    for (const shard of shards) {
      const reader = await ShardReader.open(shardDir(path.join(dataRoot, 'features'), shard.path), { rows: shard.rows });
      const batch = await reader.read(0, reader.rows);
      for (let i = 0; i < reader.rows; i++) {
        const id = Number(batch.imageIds[i]);
        expect(vectors.has(id)).toBe(false);
        vectors.set(id, batch.features.slice(i * reader.dim, (i + 1) * reader.dim));
      }
      await reader.close();
    }
    return vectors;
  }

  async function expected(imagePath: string, mirrored = false): Promise<Float32Array> {
    const image = await decodeImage(files.get(imagePath)!, { size: reference.inputSize });
    return (await reference.extract([mirrored ? mirrorImage(image) : image])).data;
  }

  function maxAbsDiff(a: Float32Array, b: Float32Array): number {
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    return max;
  }

  it('stores one vector of 1,280 values per good image and records each bad one with its reason', async () => {
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--dtype', 'float32', '--batch-size', '5');
    expect(run.err).not.toMatch(/featx: /);
    expect(run.code).toBe(0);
    const set = await featureSet('float32');
    expect(set).toMatchObject({ status: 'complete', images: 26, stored: 24, failed: 2, dim: 1280 });

    const { rows: failures } = await db.query('SELECT i.path, f.reason FROM feature_failures f JOIN images i ON i.id = f.image_id WHERE f.feature_set_id = $1 ORDER BY i.path', [set.id]);
    expect(failures.map((f) => f.path)).toEqual(['clothing-subset/training/hat/truncated.jpg', 'clothing-subset/training/pants/not-an-image.jpg']);
    for (const f of failures) expect(f.reason).toMatch(/\S/);

    const { rows: shards } = await db.query('SELECT split, rows FROM feature_shards WHERE feature_set_id = $1 ORDER BY split', [set.id]);
    expect(shards).toEqual([
      { split: 'evaluation', rows: 6 },
      { split: 'training', rows: 12 },
      { split: 'validation', rows: 6 },
    ]);
  });

  it('stores exactly what the network produces for each image', async () => {
    const set = await featureSet('float32');
    const vectors = await storedVectors(set.id);
    const { rows: images } = await db.query("SELECT id, path FROM images WHERE dataset_id = $1 AND path NOT LIKE '%truncated%' AND path NOT LIKE '%not-an-image%'", [datasetId]);
    expect(vectors.size).toBe(images.length);
    for (const image of images.slice(0, 6)) {
      const want = await expected(image.path);
      const got = vectors.get(Number(image.id))!;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
      expect(maxDiff).toBeLessThan(1e-5);
    }
  });

  (hasNumpy ? it : it.skip)('writes shards numpy reads with mmap and no featx code', async () => {
    const set = await featureSet('float32');
    const { rows: shards } = await db.query("SELECT path, rows FROM feature_shards WHERE feature_set_id = $1 AND split = 'training'", [set.id]);
    const dir = shardDir(path.join(dataRoot, 'features'), shards[0].path);
    const script = [
      'import json, sys, numpy as np',
      `d = sys.argv[1]`,
      "f = np.load(d + '/features.npy', mmap_mode='r'); l = np.load(d + '/labels.npy', mmap_mode='r'); i = np.load(d + '/image_ids.npy', mmap_mode='r')",
      "print(json.dumps({'shape': list(f.shape), 'dtype': str(f.dtype), 'labels': l.tolist(), 'ids': i.tolist(), 'sum': float(np.asarray(f, dtype=np.float64).sum()), 'first': f[0, :4].tolist()}))",
    ].join('\n');
    const fromNumpy = JSON.parse(execFileSync('python3', ['-c', script, dir], { encoding: 'utf8' }));
    expect(fromNumpy.shape).toEqual([12, 1280]);
    expect(fromNumpy.dtype).toBe('float32');
    const ours = await readNpy(path.join(dir, 'features.npy'));
    const values = ours.data as Float32Array;
    expect(fromNumpy.first).toEqual(Array.from(values.subarray(0, 4)));
    expect(fromNumpy.sum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 2);
    const labels = (await readNpy(path.join(dir, 'labels.npy'))).data as Int32Array;
    expect(fromNumpy.labels).toEqual(Array.from(labels));
    expect(new Set(fromNumpy.labels)).toEqual(new Set([0, 1, 2]));
  });

  it('stores nothing twice when a batch is redelivered or published again', async () => {
    const set = await featureSet('float32');
    const before = await storedVectors(set.id);
    const [imageId, vector] = [...before.entries()][0];
    const { rows: [image] } = await db.query('SELECT split FROM images WHERE id = $1', [imageId]);
    const batch = {
      v: 1 as const,
      featureSetId: set.id,
      workId: 'replayed',
      part: 0,
      dtype: 'float32' as const,
      dim: 1280,
      imageIds: [imageId, imageId],
      labels: [0, 0],
      splits: [image.split, image.split],
      vectors: new Uint8Array(Float32Array.from([...vector, ...vector]).buffer),
      failures: [],
    };
    const first = await publish(bus, featureBatch, batch, { msgId: 'replayed:0' });
    const dedupedByJetStream = await publish(bus, featureBatch, batch, { msgId: 'replayed:0' });
    expect(dedupedByJetStream.duplicate).toBe(true);
    await publish(bus, featureBatch, batch, { msgId: 'replayed-again:0' });
    // Wait until the feature store has consumed both.
    for (let i = 0; i < 100; i++) {
      const info = await bus.jsm.consumers.info(bus.names.streams.features, 'feature-store');
      if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= first.seq + 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await storedVectors(set.id);
    expect(after.size).toBe(before.size);
    expect((await featureSet('float32')).stored).toBe(24);
  });

  it('rejects a batch naming images that are not its dataset\'s, alone, saying which, and stores nothing of it', async () => {
    const set = await featureSet('float32');
    const before = await storedVectors(set.id);
    const [imageId, vector] = [...before.entries()][0];
    const { rows: [other] } = await db.query("INSERT INTO datasets (name, root, path, layout, classes, status) VALUES ('other', 'data', 'other', 'split-class', '[]', 'ready') RETURNING id");
    const { rows: [foreign] } = await db.query("INSERT INTO images (dataset_id, split, label, path, bytes, sha256, mtime_ms) VALUES ($1, 'training', 'a', 'other/a.jpg', 1, repeat('0', 64), 0) RETURNING id", [other.id]);
    const unknown = Number(foreign.id) + 1000;
    await publish(bus, featureBatch, {
      v: 1,
      featureSetId: set.id,
      workId: 'foreign',
      part: 0,
      dtype: 'float32',
      dim: 1280,
      imageIds: [imageId, Number(foreign.id), unknown],
      labels: [0, 0, 0],
      splits: ['training', 'training', 'training'],
      vectors: Buffer.from(Float32Array.from([...vector, ...vector, ...vector]).buffer),
      failures: [],
    });
    let reason: string | undefined;
    for (let i = 0; i < 100 && !reason; i++) {
      reason = (await db.query("SELECT reason FROM rejected_messages WHERE reason LIKE 'batch foreign:0:%'")).rows[0]?.reason;
      if (!reason) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reason).toBe(`batch foreign:0: image ids ${foreign.id}, ${unknown} are not images of dataset ${datasetId}`);
    expect((await storedVectors(set.id)).size).toBe(before.size);
    expect((await featureSet('float32')).stored).toBe(24);
  });

  it('resumes the same set when run again, doing only missing images', async () => {
    const set = await featureSet('float32');
    await db.query("DELETE FROM feature_failures WHERE feature_set_id = $1 AND image_id = (SELECT id FROM images WHERE path LIKE '%truncated.jpg')", [set.id]);
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--dtype', 'float32', '--json');
    expect(run.code).toBe(0);
    const { rows: commands } = await db.query("SELECT result FROM commands WHERE type = 'features.extract' ORDER BY created_at DESC LIMIT 1");
    expect(commands[0].result).toMatchObject({ featureSetId: set.id, pending: 1, workItems: 1 });
    expect(await featureSet('float32')).toMatchObject({ id: set.id, stored: 24, failed: 2, status: 'complete' });
  });

  it('stores float16 within half precision of the float32 vectors', async () => {
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--dtype', 'float16');
    expect(run.code).toBe(0);
    const half = await featureSet('float16');
    expect(half).toMatchObject({ status: 'complete', stored: 24, dim: 1280 });
    const full = await storedVectors((await featureSet('float32')).id);
    const halves = await storedVectors(half.id);
    for (const [id, vector] of full) {
      const h = halves.get(id)!;
      for (let i = 0; i < vector.length; i += 97) expect(Math.abs(h[i] - vector[i])).toBeLessThanOrEqual(Math.abs(vector[i]) * 1e-3 + 1e-6);
    }
  });

  it('--engine onnx and --engine tfjs make separate sets whose vectors agree (cosine >= 0.9999)', async () => {
    for (const engine of ['onnx', 'tfjs']) {
      const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--engine', engine);
      expect(run.code).toBe(0);
    }
    const onnx = await featureSet('float32', 'onnx');
    const tfjs = await featureSet('float32', 'tfjs');
    expect(onnx).toMatchObject({ status: 'complete', stored: 24, failed: 2 });
    expect(tfjs).toMatchObject({ status: 'complete', stored: 24, failed: 2 });
    expect(onnx.id).not.toBe(tfjs.id);
    const a = await storedVectors(onnx.id);
    const b = await storedVectors(tfjs.id);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    let worstCosine = 1;
    for (const [id, x] of a) {
      const y = b.get(id)!;
      let dot = 0, xx = 0, yy = 0;
      for (let i = 0; i < x.length; i++) {
        dot += x[i] * y[i];
        xx += x[i] * x[i];
        yy += y[i] * y[i];
      }
      worstCosine = Math.min(worstCosine, dot / Math.sqrt(xx * yy));
    }
    expect(worstCosine).toBeGreaterThanOrEqual(0.9999);
    const listed = await cli('features', 'ls', '--json');
    expect(JSON.parse(listed.out).items.map((s: { engine: string }) => s.engine).sort()).toEqual(expect.arrayContaining(['onnx', 'tfjs']));
    // The extractor exported MobileNetV2 once, checked against TF.js on this dataset's photos.
    const cacheDir = path.join(services.stateDir, 'onnx');
    const records = (await fs.readdir(cacheDir)).filter((f) => f.endsWith('.json') && !f.endsWith('.source.json'));
    expect(records).toHaveLength(1);
    const record = JSON.parse(await fs.readFile(path.join(cacheDir, records[0]), 'utf8'));
    expect(record).toMatchObject({ network: 'mobilenet_v2_1.0_224', layer: 'conv_MobileNetV2_Conv2d_18_1', parityInputs: 'images', parityCount: 4 });
    expect(record.maxAbsDiff).toBeLessThan(1e-4 * Math.max(1, record.maxAbsValue));
  });

  it('--precision int8 quantizes on the training photos, records parity to fp32 and shows it; below the threshold the set fails with the numbers', async () => {
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--precision', 'int8', '--calibration-images', '8', '--parity-images', '8', '--parity-threshold', '0.9');
    expect(run.code).toBe(0);
    const int8 = await featureSet('float32', 'auto', 'int8');
    const fp32 = await featureSet('float32');
    expect(int8).toMatchObject({ status: 'complete', stored: 24, failed: 2, dim: 1280 });
    expect(int8.id).not.toBe(fp32.id);
    // 14 training files (2 unreadable) shared 7 + 7 between calibration and held-back photos.
    expect(int8.spec.int8.calibration).toHaveLength(7);
    expect(int8.spec.int8.heldBack).toHaveLength(7);
    const { parity, quantizedOps } = int8.quantization;
    expect(quantizedOps).toEqual({ Conv: 52, Add: 10 });
    expect(parity).toMatchObject({ pooling: 'avg', threshold: 0.9 });
    expect(parity.images).toBeGreaterThanOrEqual(5);
    expect(parity.meanCosine).toBeGreaterThanOrEqual(0.9);
    // The stored int8 vectors are as close to the fp32 set's as the recorded parity says.
    const [a, b] = [await storedVectors(int8.id), await storedVectors(fp32.id)];
    const cosines = [...a].map(([id, x]) => cosineSimilarity(x, b.get(id)!));
    const mean = cosines.reduce((sum, c) => sum + c, 0) / cosines.length;
    expect(Math.abs(mean - parity.meanCosine)).toBeLessThan(0.02);
    const shown = await cli('features', 'show', int8.id);
    expect(shown.out).toContain('precision int8');
    expect(shown.out).toMatch(/int8: parity to fp32 mean cosine 0\.9\d{4} \(min -?\d\.\d{5}\) on \d+ held-back images \(threshold 0\.9\); calibrated \(minmax\) on \d+ training images; int8 ops Add 10, Conv 52/);

    const strict = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'max', '--precision', 'int8', '--calibration-images', '8', '--parity-images', '8', '--parity-threshold', '1');
    expect(strict.code).toBe(1);
    const refused = await featureSet('float32', 'auto', 'int8', 'max');
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/int8 features of mobilenet_v2_1\.0_224:conv_MobileNetV2_Conv2d_18_1 are too far from fp32: mean cosine 0\.\d+ \(min -?\d\.\d+\) to fp32 on \d+ held-back images, pooling max, below the threshold 1/);
    expect(refused.stored).toBe(0);
  }, 300000);

  it('predicts through the int8 network with a head trained on int8 features, quantized again from the recorded photos where the cache lost it', async () => {
    const int8 = await featureSet('float32', 'auto', 'int8');
    const fp32 = await featureSet('float32');
    const cacheDir = path.join(services.stateDir, 'onnx');
    const int8Model = path.join(cacheDir, `${int8.quantization.key}.int8.onnx`);
    const int8Bytes = await fs.readFile(int8Model);
    const [int8Vectors, fp32Vectors] = [await storedVectors(int8.id), await storedVectors(fp32.id)];
    const { rows: images } = await db.query('SELECT id, path FROM images WHERE id = ANY($1)', [[...int8Vectors.keys()]]);
    const farthest = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...CLASSES.map((_, k) => Math.abs(a[k] - b[k])));

    /**
     * A run trained on the int8 set, and for the stored photo its head tells int8 from fp32 best: the prediction's distance
     * to the head on the photo's stored int8 vector and to the head on its stored fp32 vector.
     */
    async function trainAndPredict(epochs: string) {
      expect((await cli('train', int8.id, '--epochs', epochs, '--optimizer', 'adam', '--lr', '0.01')).code).toBe(0);
      const { rows: [run] } = await db.query("SELECT id FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded' ORDER BY created_at DESC LIMIT 1", [int8.id]);
      const { loadTrainedModel } = await import('@featx/learning');
      const saved = await loadTrainedModel(path.join(services.stateDir, 'artifacts', run.id, 'model'));
      expect(saved.manifest.network).toMatchObject({ precision: 'int8', int8: { key: int8.quantization.key, method: 'minmax', calibration: int8.spec.int8.calibration, heldBack: int8.spec.int8.heldBack } });
      const heads = images.map((image) => ({
        path: image.path as string,
        onInt8: saved.head.predictProba(int8Vectors.get(Number(image.id))!),
        onFp32: saved.head.predictProba(fp32Vectors.get(Number(image.id))!),
      }));
      saved.head.dispose();
      const telling = heads.reduce((best, h) => (farthest(h.onInt8, h.onFp32) > farthest(best.onInt8, best.onFp32) ? h : best));
      const predicted = await cli('predict', run.id, files.get(telling.path)!, '--format', 'json');
      expect(predicted.code).toBe(0);
      const probabilities = CLASSES.map((label) => JSON.parse(predicted.out).predictions[0].probabilities[label] as number);
      return { toInt8: farthest(probabilities, telling.onInt8), toFp32: farthest(probabilities, telling.onFp32) };
    }

    // The prediction is the head on the stored int8 vector (the int8 graph), not on the fp32 one.
    const cached = await trainAndPredict('10');
    expect(cached.toInt8).toBeLessThan(1e-4);
    expect(cached.toFp32).toBeGreaterThan(10 * Math.max(cached.toInt8, 1e-5));

    // This host's cache lost the int8 model: a new run's network is quantized again on the set's own calibration photos, the same model.
    await fs.rm(int8Model);
    await fs.rm(int8Model.replace(/\.onnx$/, '.json'));
    const remade = await trainAndPredict('11');
    expect((await fs.readFile(int8Model)).equals(int8Bytes)).toBe(true);
    expect(remade.toInt8).toBeLessThan(1e-4);
    expect(remade.toFp32).toBeGreaterThan(10 * Math.max(remade.toInt8, 1e-5));
  }, 300000);

  it('fails the set with the reason when its network cannot be loaded (ResNet-50 weights absent offline)', async () => {
    const run = await cli('extract', datasetId, '--model', 'resnet50', '--pool', 'avg');
    expect(run.code).toBe(1);
    const { rows: [set] } = await db.query("SELECT status, error FROM feature_sets WHERE model = 'resnet50'");
    expect(set.status).toBe('failed');
    expect(set.error).toMatch(/resnet50_weights_tf_dim_ordering_tf_kernels_notop\.h5/);
    expect(run.err).toMatch(/failed/);
  }, 120000);

  it('predicts new photos through a head trained on these features: same decoding, network and preprocessing', async () => {
    const set = await featureSet('float32');
    const trained = await cli('train', set.id, '--epochs', '15', '--optimizer', 'adam', '--lr', '0.01', '--standardize');
    expect(trained.code).toBe(0);
    const { rows: [run] } = await db.query("SELECT id FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded'", [set.id]);

    const testImages = path.join(SHARED_DIR, 'models/test_images');
    const predicted = await cli('predict', run.id, testImages, '--format', 'json');
    expect(predicted.code).toBe(0);
    const { classes, predictions } = JSON.parse(predicted.out);
    expect(classes).toEqual(CLASSES);
    expect(predictions).toHaveLength(8);
    for (const p of predictions) {
      expect(p.error).toBeNull();
      expect(CLASSES).toContain(p.label);
      expect(Object.values(p.probabilities as Record<string, number>).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }

    // A photo the head was trained on: prediction from the file equals the head on its stored vector.
    const [imagePath] = [...files.keys()].filter((p) => p.includes('/training/shoes/'));
    const fromFile = JSON.parse((await cli('predict', run.id, files.get(imagePath)!, '--format', 'json')).out).predictions[0];
    const uploaded = JSON.parse((await cli('predict', run.id, files.get(imagePath)!, '--upload', '--format', 'json')).out).predictions[0];
    expect(uploaded.probabilities).toEqual(fromFile.probabilities);
    const { loadTrainedModel, standardizeInPlace } = await import('@featx/learning');
    const savedModel = await loadTrainedModel(path.join(services.stateDir, 'artifacts', run.id, 'model'));
    const { rows: [image] } = await db.query('SELECT id FROM images WHERE path = $1', [imagePath]);
    const stored = (await storedVectors(set.id)).get(Number(image.id))!;
    standardizeInPlace(stored, savedModel.standardization!);
    const direct = savedModel.head.predictProba(stored);
    savedModel.head.dispose();
    CLASSES.forEach((label, k) => expect(fromFile.probabilities[label]).toBeCloseTo(direct[k], 4));

    const table = await cli('predict', run.id, testImages);
    expect(table.out).toMatch(/parrot\.jpg/);
    const outside = await cli('predict', run.id, '/etc/hostname');
    expect(outside.code).toBe(1);
    expect(outside.err).toMatch(/outside the data roots/);
  }, 180000);

  it('--augment hflip stores each photo\'s mirror once, tagged augmented in shards of its own (validation and evaluation too, for test-time augmentation)', async () => {
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--augment', 'hflip', '--batch-size', '5');
    expect(run.code).toBe(0);
    const set = await featureSet('float32', 'auto', 'fp32', 'avg', 'hflip');
    expect(set.id).not.toBe((await featureSet('float32')).id);
    // Progress counts images; the 24 good photos' mirrors are counted apart.
    expect(set).toMatchObject({ status: 'complete', images: 26, stored: 24, failed: 2, augmented: 24, dim: 1280 });
    const { rows: shards } = await db.query('SELECT split, augment, sum(rows)::int AS rows, min(path) AS path FROM feature_shards WHERE feature_set_id = $1 GROUP BY 1, 2 ORDER BY 1, 2', [set.id]);
    expect(shards.map(({ split, augment, rows }) => ({ split, augment, rows }))).toEqual([
      { split: 'evaluation', augment: 'hflip', rows: 6 },
      { split: 'evaluation', augment: 'none', rows: 6 },
      { split: 'training', augment: 'hflip', rows: 12 },
      { split: 'training', augment: 'none', rows: 12 },
      { split: 'validation', augment: 'hflip', rows: 6 },
      { split: 'validation', augment: 'none', rows: 6 },
    ]);
    expect(shards[2].path).toMatch(new RegExp(`^${set.id}/training-hflip/`));
    expect(shards[4].path).toMatch(new RegExp(`^${set.id}/validation-hflip/`));

    // Each augmented row is the network's vector of the photo's mirror, under the photo's id.
    const own = await storedVectors(set.id);
    const mirrors = await storedVectors(set.id, 'hflip');
    const { rows: training } = await db.query("SELECT id, path FROM images WHERE dataset_id = $1 AND split = 'training' AND path NOT LIKE '%truncated%' AND path NOT LIKE '%not-an-image%' ORDER BY id", [datasetId]);
    const { rows: good } = await db.query("SELECT id FROM images WHERE dataset_id = $1 AND path NOT LIKE '%truncated%' AND path NOT LIKE '%not-an-image%' ORDER BY id", [datasetId]);
    expect([...mirrors.keys()].sort((a, b) => a - b)).toEqual(good.map((image) => Number(image.id)));
    for (const image of training.slice(0, 3)) {
      const id = Number(image.id);
      expect(maxAbsDiff(mirrors.get(id)!, await expected(image.path, true))).toBeLessThan(1e-5);
      expect(maxAbsDiff(own.get(id)!, await expected(image.path))).toBeLessThan(1e-5);
      expect(maxAbsDiff(mirrors.get(id)!, own.get(id)!)).toBeGreaterThan(1e-2);
    }

    // A redelivered batch with an augmented row stores nothing twice.
    const [imageId, vector] = [...mirrors.entries()][0];
    const replayed = { v: 1 as const, featureSetId: set.id, workId: 'replayed-hflip', part: 0, dtype: 'float32' as const, dim: 1280, imageIds: [imageId, imageId], labels: [0, 0], splits: ['training' as const, 'training' as const], augmented: [false, true], vectors: new Uint8Array(Float32Array.from([...own.get(imageId)!, ...vector]).buffer), failures: [] };
    const published = await publish(bus, featureBatch, replayed, { msgId: 'replayed-hflip:0' });
    for (let i = 0; i < 100; i++) {
      const info = await bus.jsm.consumers.info(bus.names.streams.features, 'feature-store');
      if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= published.seq) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await storedVectors(set.id, 'hflip')).size).toBe(24);
    expect(await featureSet('float32', 'auto', 'fp32', 'avg', 'hflip')).toMatchObject({ stored: 24, augmented: 24 });

    // Exports leave the augmented rows out unless asked for them alone.
    const exported = async (query: string) => fetch(`${services.apiUrl}/feature-sets/${set.id}/export?${query}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const plain = await exported('format=csv&split=training');
    expect(plain.headers.get('x-featx-rows')).toBe('12');
    const augmented = await exported('format=npy&split=training&augment=hflip&array=image_ids');
    expect(augmented.headers.get('x-featx-rows')).toBe('12');
    expect(augmented.headers.get('content-disposition')).toContain(`featx-${set.id.slice(0, 8)}-training-hflip-image_ids.npy`);
    expect((await exported('format=csv&split=evaluation&augment=hflip')).headers.get('x-featx-rows')).toBe('6');
    expect((await exported('format=csv&split=training&augment=vflip')).status).toBe(400);
  }, 180000);

  it('a head trains on the augmented rows too; predict --tta hflip averages the photo\'s and its mirror\'s probabilities', async () => {
    const set = await featureSet('float32', 'auto', 'fp32', 'avg', 'hflip');
    const trained = await cli('train', set.id, '--epochs', '3', '--standardize');
    expect(trained.code).toBe(0);
    const { rows: [run] } = await db.query("SELECT id FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded'", [set.id]);

    // The standardization statistics are the training split's: the photos' rows and their mirrors'.
    const own = await storedVectors(set.id);
    const mirrors = await storedVectors(set.id, 'hflip');
    const { rows: trainingImages } = await db.query("SELECT id FROM images WHERE dataset_id = $1 AND split = 'training'", [datasetId]);
    const trainingIds = trainingImages.map((image) => Number(image.id)).filter((id) => mirrors.has(id));
    expect(trainingIds).toHaveLength(12);
    const mean = new Float64Array(1280);
    for (const id of trainingIds) for (const v of [own.get(id)!, mirrors.get(id)!]) v.forEach((x, i) => (mean[i] += x / (2 * trainingIds.length)));
    const savedMean = (await readNpy(path.join(services.stateDir, 'artifacts', run.id, 'standardization', 'mean.npy'))).data as Float32Array;
    expect(maxAbsDiff(savedMean, Float32Array.from(mean))).toBeLessThan(1e-4);

    const [imagePath] = [...files.keys()].filter((p) => p.includes('/training/shoes/'));
    const { rows: [image] } = await db.query('SELECT id FROM images WHERE path = $1', [imagePath]);
    const predict = async (...args: string[]) => JSON.parse((await cli('predict', run.id, files.get(imagePath)!, '--format', 'json', ...args)).out);
    const single = await predict();
    const tta = await predict('--tta', 'hflip');
    const uploaded = await predict('--tta', 'hflip', '--upload');
    expect(tta.tta).toBe('hflip');
    expect(uploaded.predictions[0].probabilities).toEqual(tta.predictions[0].probabilities);
    const { loadTrainedModel, standardizeInPlace } = await import('@featx/learning');
    const savedModel = await loadTrainedModel(path.join(services.stateDir, 'artifacts', run.id, 'model'));
    const probabilities = (vector: Float32Array) => {
      const prepared = vector.slice();
      standardizeInPlace(prepared, savedModel.standardization!);
      return savedModel.head.predictProba(prepared);
    };
    const [p, q] = [probabilities(own.get(Number(image.id))!), probabilities(mirrors.get(Number(image.id))!)];
    savedModel.head.dispose();
    CLASSES.forEach((label, k) => {
      expect(single.predictions[0].probabilities[label]).toBeCloseTo(p[k], 4);
      expect(tta.predictions[0].probabilities[label]).toBeCloseTo((p[k] + q[k]) / 2, 4);
    });

    const refused = await callTestApi(services.apiUrl, 'POST', `/runs/${run.id}/predict`, { paths: [files.get(imagePath)], tta: 'vflip' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/^tta: Invalid option: expected one of "none"\|"hflip"$/);
    expect((await cli('predict', run.id, files.get(imagePath)!, '--tta', 'vflip')).code).toBe(2);
  }, 180000);

  it('--head auto on an hflip set selects and evaluates on each photo averaged with its mirror, may average its best candidates, and predicts so by default', async () => {
    const set = await featureSet('float32', 'auto', 'fp32', 'avg', 'hflip');
    const trained = await cli('train', set.id, '--head', 'auto', '--epochs', '4');
    expect(trained.code).toBe(0);
    const { rows: [run] } = await db.query("SELECT id, config FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded' AND config->'search' IS NOT NULL", [set.id]);
    const search = run.config.search;
    expect(search.testTimeAugment).toBe('hflip');
    expect(search.members[0]).toBe(search.chosen);
    expect(search.ensembles.map((e: { k: number }) => e.k)).toEqual(search.ensembles.map((_: unknown, i: number) => i + 1));
    const { loadTrainedModel, meanProbabilities, prepareInputsInPlace } = await import('@featx/learning');
    const model = await loadTrainedModel(path.join(services.stateDir, 'artifacts', run.id, 'model'));
    try {
      expect(model.manifest.testTimeAugment).toBe('hflip');
      expect(model.members).toHaveLength(search.members.length - 1);
      const heads = [{ head: model.head, normalize: model.manifest.config.normalize, standardization: model.standardization }, ...model.members];
      // The model's probabilities for a photo: every head on its own preparation, of the photo and of its mirror, averaged.
      const own = await storedVectors(set.id);
      const mirrors = await storedVectors(set.id, 'hflip');
      const modelProbabilities = (id: number) =>
        meanProbabilities(
          [own.get(id)!, mirrors.get(id)!].flatMap((vector) =>
            heads.map((member) => {
              const prepared = vector.slice();
              prepareInputsInPlace(prepared, 1280, member.normalize, member.standardization);
              return member.head.predictProba(prepared);
            }),
          ),
        );
      // The evaluation on record is that model's, photo by photo.
      const { rows: recorded } = await db.query("SELECT image_id, predicted_class, probability FROM run_image_predictions WHERE run_id = $1 AND split = 'evaluation'", [run.id]);
      expect(recorded).toHaveLength(6);
      for (const row of recorded) {
        const p = modelProbabilities(Number(row.image_id));
        const best = p.indexOf(Math.max(...p));
        expect(best).toBe(row.predicted_class);
        expect(p[best]).toBeCloseTo(row.probability, 4);
      }

      // Prediction averages the photo and its mirror unless told otherwise.
      const [imagePath] = [...files.keys()].filter((p) => p.includes('/evaluation/'));
      const { rows: [image] } = await db.query('SELECT id FROM images WHERE path = $1', [imagePath]);
      const predict = async (...args: string[]) => JSON.parse((await cli('predict', run.id, files.get(imagePath)!, '--format', 'json', ...args)).out);
      const byDefault = await predict();
      expect(byDefault.tta).toBe('hflip');
      expect(byDefault.predictions[0].probabilities).toEqual((await predict('--tta', 'hflip')).predictions[0].probabilities);
      const p = modelProbabilities(Number(image.id));
      CLASSES.forEach((label, k) => expect(byDefault.predictions[0].probabilities[label]).toBeCloseTo(p[k], 4));
      const alone = await predict('--tta', 'none');
      expect(alone.tta).toBe('none');
      expect(alone.predictions[0].probabilities).not.toEqual(byDefault.predictions[0].probabilities);
    } finally {
      model.head.dispose();
      model.members.forEach((member) => member.head.dispose());
    }
  }, 300000);
});
