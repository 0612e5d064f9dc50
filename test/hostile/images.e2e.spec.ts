import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { BusConnection, connectBus, publish } from '@featx/bus';
import { extractWorkItem } from '@featx/contracts';
import { SHARED_DIR, sharedAvailable, TEST_NATS_URL } from '@featx/testing';
import { createFeatureExtractor, decodeImage } from '@featx/vision';
import { readNpy, shardDir } from '@featx/features';
import { startTestServices, TestServices, TEST_API_TOKEN, runTestCli } from '../support/test-services';
import { HOSTILE_IMAGES, writeHostileImages } from './hostile-images';

const MODEL_DIR = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const available = sharedAvailable('models/mobilenet_v2_1.0_224');
if (!available) console.warn(`skipping the hostile-image pipeline test: ${MODEL_DIR} is absent`);

/**
 * Hostile images through the real pipeline (CLI → API → ingest → feature-store → extractor →
 * feature-store), plus files that change between registration and extraction: each image ends up
 * with a vector or a recorded failure with its reason, the set completes, the others are unaffected.
 * Then a poison work item: rejected after max deliveries, recorded, and not blocking the work behind it.
 */
(available ? describe : describe.skip)('hostile images through the extraction pipeline', () => {
  let dataRoot: string;
  let outside: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let datasetId: string;
  let setId: string;
  // The files of the dataset: training/a holds the hostile images; training/b controls and the changed files.
  const changed = [
    { name: 'deleted-after-registration.jpg', what: 'file deleted between ingest and extraction', reason: /does not exist/ },
    { name: 'symlink-out-after-registration.jpg', what: 'good file replaced by a symlink out of the data root after registration', reason: /outside|data root/i },
  ];

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-hostile-')));
    outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-hostile-outside-')));
    const folder = path.join(dataRoot, 'hostile set');
    await writeHostileImages(path.join(folder, 'training', 'a'));
    const control = HOSTILE_IMAGES.filter((i) => i.name === 'reference.png' || i.name === 'name with spaces.jpg');
    await writeHostileImages(path.join(folder, 'training', 'b'), control);
    await writeHostileImages(path.join(folder, 'evaluation', 'b'), control);
    for (const c of changed) await fs.copyFile(path.join(folder, 'training', 'a', 'reference.png'), path.join(folder, 'training', 'b', c.name));
    await fs.copyFile(path.join(folder, 'training', 'a', 'reference.png'), path.join(outside, 'secret.png'));

    services = await startTestServices({
      dataRoots: `data=${dataRoot},shared=${SHARED_DIR}`,
      workers: ['ingest', 'feature-store', 'extractor'],
      env: { FEATX_FEATURES_DIR: path.join(dataRoot, 'features'), FEATX_TF_BACKEND: 'wasm', FEATX_WEIGHTS_DOWNLOAD: 'false' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'hostile-images-test', namespace: services.namespace });
    const added = await cli('datasets', 'add', folder, '--json');
    expect(added.err).toBe('');
    datasetId = JSON.parse(added.out).dataset.id;
    // Between registration and extraction: one file vanishes, one is swapped for a symlink leading out.
    await fs.rm(path.join(folder, 'training', 'b', changed[0].name));
    await fs.rm(path.join(folder, 'training', 'b', changed[1].name));
    await fs.symlink(path.join(outside, 'secret.png'), path.join(folder, 'training', 'b', changed[1].name));
  }, 120000);

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    if (dataRoot) await fs.rm(dataRoot, { recursive: true, force: true });
    if (outside) await fs.rm(outside, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);

  it('registers every file, hostile or not (registration reads bytes, it does not decode)', async () => {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM images WHERE dataset_id = $1', [datasetId]);
    expect(rows[0].n).toBe(HOSTILE_IMAGES.length + 2 * 2 + changed.length);
  });

  it('stores a vector for each readable image and records each unreadable one with its reason; the set completes', async () => {
    const run = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--batch-size', '4');
    expect(run.code).toBe(0);
    const { rows: [set] } = await db.query('SELECT * FROM feature_sets WHERE dataset_id = $1', [datasetId]);
    setId = set.id;
    const expectedStored = HOSTILE_IMAGES.filter((i) => i.expect.stored).length + 4;
    const expectedFailed = HOSTILE_IMAGES.filter((i) => !i.expect.stored).length + changed.length;
    expect(set).toMatchObject({ status: 'complete', images: expectedStored + expectedFailed, stored: expectedStored, failed: expectedFailed });
    console.log(`hostile images: ${set.images} expected, ${set.stored} stored, ${set.failed} failed`);

    const { rows: outcomes } = await db.query(
      `SELECT i.path, (v.image_id IS NOT NULL) AS stored, f.reason
         FROM images i LEFT JOIN feature_vectors v ON v.image_id = i.id AND v.feature_set_id = $1
         LEFT JOIN feature_failures f ON f.image_id = i.id AND f.feature_set_id = $1
        WHERE i.dataset_id = $2`,
      [set.id, datasetId],
    );
    const byPath = new Map(outcomes.map((o) => [o.path as string, o]));
    for (const image of HOSTILE_IMAGES) {
      const outcome = byPath.get(`hostile set/training/a/${image.name}`);
      expect({ image: image.name, stored: outcome?.stored }).toEqual({ image: image.name, stored: image.expect.stored });
      if (!image.expect.stored) expect({ image: image.name, reason: outcome?.reason }).toEqual({ image: image.name, reason: expect.stringMatching(image.expect.reason) });
      else expect(outcome?.reason).toBeNull();
    }
    for (const c of changed) {
      const outcome = byPath.get(`hostile set/training/b/${c.name}`);
      expect({ image: c.name, stored: outcome?.stored, reason: outcome?.reason }).toEqual({ image: c.name, stored: false, reason: expect.stringMatching(c.reason) });
    }
  });

  it('stores for the EXIF-rotated JPEG the vector of the upright image', async () => {
    const { rows: shards } = await db.query("SELECT path FROM feature_shards WHERE feature_set_id = $1 AND split = 'training'", [setId]);
    const dir = shardDir(path.join(dataRoot, 'features'), shards[0].path);
    const ids = Array.from((await readNpy(path.join(dir, 'image_ids.npy'))).data as BigInt64Array, Number);
    const features = (await readNpy(path.join(dir, 'features.npy'))).data as Float32Array;
    const { rows: [image] } = await db.query("SELECT id FROM images WHERE path = 'hostile set/training/a/exif-orientation-6.jpg'");
    const row = ids.indexOf(Number(image.id));
    expect(row).toBeGreaterThanOrEqual(0);
    const stored = features.subarray(row * 1280, (row + 1) * 1280);
    const network = await createFeatureExtractor({ model: MODEL_DIR, pooling: 'avg', backend: 'wasm' });
    try {
      const file = path.join(dataRoot, 'hostile set/training/a/exif-orientation-6.jpg');
      const upright = (await network.extract([await decodeImage(file, { size: network.inputSize })])).data;
      // The same JPEG decoded without applying its orientation (sideways) gives another vector.
      const sharp = (await import('sharp')).default;
      const sideways = await sharp(await sharp(file).rotate(0).withMetadata({ orientation: 1 }).jpeg({ quality: 100 }).toBuffer()).png().toBuffer();
      const other = (await network.extract([await decodeImage(sideways, { size: network.inputSize })])).data;
      const distance = (a: Float32Array) => Math.sqrt(a.reduce((sum, v, i) => sum + (v - stored[i]) ** 2, 0));
      expect(distance(upright)).toBeLessThan(1e-3);
      expect(distance(other)).toBeGreaterThan(100 * Math.max(distance(upright), 1e-4));
    } finally {
      network.dispose();
    }
  }, 120000);

  it('rejects a poison work item after max deliveries, records the reason, and still processes the work behind it', async () => {
    // A feature set whose stored dtype no feature batch can carry: every attempt decodes, runs the
    // network, then fails to publish its batch (a validation error, not a permanent one) — a handler
    // that crashes the same way on every delivery.
    const poisonSet = randomUUID();
    await db.query(
      `INSERT INTO feature_sets (id, dataset_id, model, layer, pooling, dtype, spec, status, images, stored, failed)
       SELECT $1, dataset_id, model, layer, pooling, 'float64', spec, 'running', 1, 0, 0 FROM feature_sets WHERE id = $2`,
      [poisonSet, setId],
    );
    const { rows: [img] } = await db.query("SELECT id, split FROM images WHERE path = 'hostile set/training/a/reference.png'");
    const poison = await publish(bus, extractWorkItem, { v: 1, featureSetId: poisonSet, workId: 'poison-1', items: [{ imageId: Number(img.id), root: 'data', path: 'hostile set/training/a/reference.png', label: 0, split: img.split }] });

    // Work behind it: a whole new extraction (float16) must complete while the poison is retried.
    const behind = await cli('extract', datasetId, '--model', MODEL_DIR, '--pool', 'avg', '--dtype', 'float16', '--batch-size', '4');
    expect(behind.code).toBe(0);
    const { rows: [half] } = await db.query("SELECT status, stored, failed FROM feature_sets WHERE dataset_id = $1 AND dtype = 'float16'", [datasetId]);
    expect(half).toMatchObject({ status: 'complete', stored: HOSTILE_IMAGES.filter((i) => i.expect.stored).length + 4 });

    let rejected: { kind: string; delivery_count: number; reason: string; consumer: string } | undefined;
    for (let i = 0; i < 600 && !rejected; i++) {
      const { rows } = await db.query('SELECT kind, delivery_count, reason, consumer FROM rejected_messages WHERE stream_sequence = $1 AND stream = $2', [poison.seq, poison.stream]);
      rejected = rows[0];
      if (!rejected) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rejected).toMatchObject({ kind: 'max-deliveries', delivery_count: 5, consumer: 'extractor' });
    expect(rejected!.reason).toMatch(/failed 5 times, last: .*dtype/);

    const response = await fetch(`${services.apiUrl}/rejected-messages`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const listed = await response.json();
    expect(JSON.stringify(listed)).toContain('failed 5 times');

    // Never redelivered again: nothing pending or in flight on the extractor's consumer.
    await new Promise((r) => setTimeout(r, 1500));
    const info = await bus.jsm.consumers.info(bus.names.streams.work, 'extractor');
    expect(info.num_pending + info.num_ack_pending + info.num_redelivered).toBe(0);
  }, 120000);
});
