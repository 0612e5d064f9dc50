import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { Objm } from '@nats-io/obj';
import { artifactBucket, ArtifactStore, connectBus, publish } from '@featx/bus';
import { createRunCommand } from '@featx/contracts';
import { loadTrainedModel, standardizeInPlace } from '@featx/learning';
import { readNpy, ShardReader, shardDir } from '@featx/features';
import { svgToPng } from '@featx/reports';
import { loadConfig } from '@featx/runtime';
import { createFeatureExtractor, decodeImage } from '@featx/vision';
import { startTestApi, startTestServices, TestServices, TEST_API_TOKEN, runTestCli } from './support/test-services';
import { createSyntheticFeatureSet } from './support/synthetic-features';
import { TEST_NATS_URL } from './support/test-bus';
import { waitForCommand } from './support/commands';
import { writeTinyLayersModel } from '../libs/vision/src/test-support/tiny-layers-model';
import { runCli } from '../apps/cli/src/cli';
import { TrainerModule } from '../apps/trainer/src/trainer.module';
import { launchServices, serviceInstances } from '../tools/service-launcher';

const CLASSES = ['alpha', 'beta', 'gamma'];
const ROWS = { training: 600, validation: 120, evaluation: 120 };

/**
 * Training end to end on features with known structure: API → bus → trainer, which streams the
 * shards from the feature store over NATS, records every epoch, evaluates, and writes the model.
 */
describe('training runs', () => {
  let root: string;
  let services: TestServices;
  let db: Client;

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-train-')));
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store', 'trainer'],
      env: { FEATX_FEATURES_DIR: path.join(root, 'features'), FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'), FEATX_STORE_ID: 'store-t', FEATX_TF_BACKEND: 'wasm' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await services?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);

  const synthetic = (separable: boolean, seed = 1) =>
    createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows: ROWS, separable, seed, storeId: 'store-t', featuresDir: path.join(root, 'features') });

  async function run(runId: string) {
    return (await db.query('SELECT * FROM training_runs WHERE id = $1', [runId])).rows[0];
  }

  it('trains the tutorial MLP to near-perfect accuracy on separable features, with every epoch, the report and the model on record', async () => {
    const { featureSetId } = await synthetic(true);
    const result = await cli('train', featureSetId, '--epochs', '8', '--lr', '0.01', '--json');
    expect(result.code).toBe(0);
    const runId = (await db.query('SELECT id FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0].id;
    const row = await run(runId);
    expect(row).toMatchObject({ status: 'succeeded', epochs_done: 8, resumes: 0 });
    const { rows: epochs } = await db.query('SELECT epoch, train_loss, val_accuracy, rows_per_second FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [runId]);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(epochs[7].train_loss).toBeLessThan(epochs[0].train_loss);
    const { rows: [evaluation] } = await db.query("SELECT accuracy, report, confusion, per_class FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [runId]);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    expect(evaluation.report).toMatch(/precision\s+recall\s+f1-score\s+support/);
    expect(evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(ROWS.evaluation);
    // Each held-out image's prediction, once: the images behind every cell of the matrix.
    const { rows: predictions } = await db.query(
      "SELECT p.image_id, p.true_class, p.predicted_class, p.probability, i.split, i.label FROM run_image_predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = $1 AND p.split = 'evaluation'",
      [runId],
    );
    expect(predictions).toHaveLength(ROWS.evaluation);
    expect(new Set(predictions.map((p) => p.image_id)).size).toBe(ROWS.evaluation);
    for (const p of predictions) {
      expect({ split: p.split, label: p.label }).toEqual({ split: 'evaluation', label: CLASSES[p.true_class] });
      expect(p.probability).toBeGreaterThanOrEqual(1 / CLASSES.length);
      expect(p.probability).toBeLessThanOrEqual(1);
    }
    const cells = CLASSES.map((_, t) => CLASSES.map((__, q) => predictions.filter((p) => p.true_class === t && p.predicted_class === q).length));
    expect(cells).toEqual(evaluation.confusion);
    expect((await db.query("SELECT count(*)::int AS n FROM run_image_predictions WHERE run_id = $1 AND split = 'validation'", [runId])).rows[0].n).toBe(ROWS.validation);
    const artifacts = path.join(root, 'artifacts', runId);
    for (const file of ['model/model.json', 'model/featx-head.json', 'curves.svg', 'curves.png', 'confusion.svg', 'confusion.png', 'checkpoint']) {
      expect(existsSync(path.join(artifacts, file))).toBe(true);
    }
    // The deliverables are published to the namespace's artifacts bucket and on record, digests included.
    const published: Array<{ name: string; bytes: number; digest: string }> = row.published_artifacts;
    expect(published.map((a) => a.name)).toEqual(expect.arrayContaining(['model/model.json', 'model/featx-head.json', 'curves.svg', 'curves.png', 'confusion.svg', 'confusion.png']));
    expect(published.some((a) => a.name.startsWith('checkpoint'))).toBe(false);
    const bus = await connectBus({ url: TEST_NATS_URL, name: 'training-test', namespace: services.namespace });
    try {
      const inBucket = await (await ArtifactStore.open(bus)).list(runId);
      expect(inBucket).toEqual([...published].sort((a, b) => a.name.localeCompare(b.name)));
      for (const a of published) expect(a.bytes).toBe((await fs.stat(path.join(artifacts, a.name))).size);
    } finally {
      await bus.nc.close();
    }
    const report = await cli('runs', 'report', runId);
    expect(report.code).toBe(0);
    expect(report.out).toMatch(/weighted avg/);
  }, 120000);

  it('predicts through an API with no trainer disk (as on another host): the model comes from the artifacts bucket over NATS', async () => {
    // A tiny TF.js network (8x8 images, 4 features) stands for the feature set's network.
    const network = path.join(root, 'tiny');
    await writeTinyLayersModel(network);
    await fs.writeFile(path.join(network, 'featx-model.json'), JSON.stringify({ format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat' }));
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 4, rows: { training: 300, validation: 60, evaluation: 60 }, separable: true, seed: 7, storeId: 'store-t', featuresDir: path.join(root, 'features') });
    await db.query("UPDATE feature_sets SET model = 'data:tiny', layer = 'feat', pooling = 'avg', engine = 'tfjs' WHERE id = $1", [featureSetId]);
    const trained = await cli('train', featureSetId, '--epochs', '3', '--standardize', '--json');
    expect(trained.code).toBe(0);
    const { rows: [{ id: runId }] } = await db.query("SELECT id FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded'", [featureSetId]);
    const image = path.join(root, 'photos', 'square.png');
    await fs.mkdir(path.dirname(image), { recursive: true });
    await fs.writeFile(image, await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#3a7"/><rect x="4" y="2" width="6" height="9" fill="#d42"/></svg>'));

    // What the run's head says about the image, from the trainer's own folder; then that folder goes.
    const trainerModel = path.join(root, 'artifacts', runId, 'model');
    const expected = await headOnImage(trainerModel, network, image);
    await fs.rm(path.join(root, 'artifacts', runId), { recursive: true });

    const elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-api-host-'));
    const emptyArtifacts = path.join(elsewhere, 'artifacts');
    await fs.mkdir(emptyArtifacts);
    const api = await startTestApi(
      loadConfig('api', {
        FEATX_NATS_URL: TEST_NATS_URL,
        FEATX_NAMESPACE: services.namespace,
        FEATX_DATABASE_URL: services.database.url,
        FEATX_MIGRATE_ON_START: 'false',
        FEATX_DATA_ROOTS: `data=${root}`,
        FEATX_STATE_DIR: elsewhere,
        FEATX_ARTIFACTS_DIR: emptyArtifacts,
        FEATX_API_TOKEN: TEST_API_TOKEN,
        FEATX_TF_BACKEND: 'wasm',
        FEATX_LOG_LEVEL: 'error',
      }),
    );
    try {
      const predicted = await runTestCli(api.url, ['predict', runId, image, '--format', 'json']);
      expect(predicted.code).toBe(0);
      const { classes, predictions } = JSON.parse(predicted.out);
      expect(classes).toEqual(CLASSES);
      expect(predictions).toHaveLength(1);
      CLASSES.forEach((label, k) => expect(predictions[0].probabilities[label]).toBeCloseTo(expected[k], 5));
      expect(await fs.readdir(emptyArtifacts)).toEqual([]);

      // The same objects download through that API: a model folder that loads and says the same.
      const out = path.join(elsewhere, 'download');
      const downloaded = await runTestCli(api.url, ['runs', 'artifacts', runId, '--out', out]);
      expect(downloaded.code).toBe(0);
      expect(downloaded.out).toMatch(/model\/featx-head\.json/);
      expect(await fs.readdir(out)).toEqual(expect.arrayContaining(['model', 'curves.svg', 'curves.png', 'confusion.svg', 'confusion.png']));
      expect(await headOnImage(path.join(out, 'model'), network, image)).toEqual(expected);
      const missing = await runTestCli(api.url, ['runs', 'artifacts', randomUUID()]);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/not found/);
    } finally {
      await api.app.close();
      await fs.rm(elsewhere, { recursive: true, force: true });
    }

    // An object deleted from the bucket after it was recorded: a 409 naming it (this API has not loaded the model yet).
    const bus = await connectBus({ url: TEST_NATS_URL, name: 'training-test', namespace: services.namespace });
    await (await new Objm(bus.js).open(artifactBucket(bus.names))).delete(`${runId}/model/model.json`);
    await bus.nc.close();
    const broken = await cli('predict', runId, image);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(new RegExp(`run ${runId} cannot predict: .*/${runId}/model/model\\.json is missing`));

    // A run trained before publishing existed has nothing on record: a clear refusal, not a crash.
    await db.query('UPDATE training_runs SET published_artifacts = NULL WHERE id = $1', [runId]);
    const old = await cli('predict', runId, image);
    expect(old.code).toBe(1);
    expect(old.err).toMatch(new RegExp(`run ${runId} was trained before trained models were published to NATS.*retrain it`));
  }, 180000);

  it('publishes at start the model of a run trained before runs published theirs, from the folder on its disk', async () => {
    const { featureSetId } = await synthetic(true, 9);
    expect((await cli('train', featureSetId, '--epochs', '2')).code).toBe(0);
    const { rows: [{ id: runId }] } = await db.query("SELECT id FROM training_runs WHERE feature_set_id = $1 AND status = 'succeeded'", [featureSetId]);
    const bus = await connectBus({ url: TEST_NATS_URL, name: 'training-test', namespace: services.namespace });
    const trainer = await NestFactory.create(
      TrainerModule.register(
        loadConfig('trainer', {
          FEATX_NATS_URL: TEST_NATS_URL,
          FEATX_NAMESPACE: services.namespace,
          FEATX_DATABASE_URL: services.database.url,
          FEATX_MIGRATE_ON_START: 'false',
          FEATX_DATA_ROOTS: `data=${root}`,
          FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'),
          FEATX_TF_BACKEND: 'wasm',
          FEATX_LOG_LEVEL: 'error',
        }),
      ),
      { logger: false },
    );
    try {
      // As a run trained before the upgrade: its folder on the trainer's disk, nothing on record, nothing in the bucket.
      const store = await ArtifactStore.open(bus);
      await db.query('UPDATE training_runs SET published_artifacts = NULL WHERE id = $1', [runId]);
      expect(await store.deleteRun(runId)).toBeGreaterThan(0);
      await trainer.init();
      let published = null;
      for (let i = 0; i < 200 && !published; i++) {
        published = (await run(runId)).published_artifacts;
        if (!published) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(published.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['model/featx-head.json', 'model/model.json', 'curves.svg', 'confusion.png']));
      expect(await store.list(runId)).toEqual([...published].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)));
    } finally {
      await trainer.close();
      await bus.nc.close();
    }
  }, 120000);

  it('trains logistic regression, choosing L2 on the validation split; random labels stay near chance', async () => {
    const separable = await synthetic(true, 2);
    const ok = await cli('train', separable.featureSetId, '--head', 'logistic', '--epochs', '5', '--optimizer', 'adam', '--lr', '0.01');
    expect(ok.code).toBe(0);
    const chosen = (await db.query('SELECT id, config FROM training_runs WHERE feature_set_id = $1', [separable.featureSetId])).rows[0];
    expect(typeof chosen.config.l2).toBe('number');
    const { rows: [good] } = await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [chosen.id]);
    expect(good.accuracy).toBeGreaterThan(0.95);

    const noise = await synthetic(false, 3);
    const chance = await cli('train', noise.featureSetId, '--epochs', '5', '--lr', '0.01');
    expect(chance.code).toBe(0);
    const runId = (await db.query('SELECT id FROM training_runs WHERE feature_set_id = $1', [noise.featureSetId])).rows[0].id;
    const { rows: [bad] } = await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [runId]);
    expect(bad.accuracy).toBeLessThan(0.55); // chance is 1/3
  }, 180000);

  it('chooses the head with --head auto: the leaderboard on record and in the CLI, the winner as the model, predicting with its input preparation', async () => {
    const { featureSetId } = await synthetic(true, 12);
    const refused = await cli('train', featureSetId, '--head', 'auto', '--standardize');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/head auto chooses standardize itself/);

    const result = await cli('train', featureSetId, '--head', 'auto', '--epochs', '4');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/head chosen on the validation split: (logistic|mlp) (sgd|adam|lbfgs) .* \(45 candidates/);
    const row = (await db.query('SELECT id, config, epochs_done FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0];
    // The run's configuration is the winner's, with what the search was.
    expect(row.config.head).toMatch(/^(logistic|mlp)$/);
    expect(row.config.search).toMatchObject({ candidates: 44, epochs: 4, patience: 5 });
    const { rows: candidates } = await db.query('SELECT name, outcome, val_accuracy, chosen FROM run_candidates WHERE run_id = $1 ORDER BY position', [row.id]);
    expect(candidates).toHaveLength(45);
    expect(candidates.filter((c) => c.chosen).map((c) => c.name)).toEqual([row.config.search.chosen]);
    expect(candidates.at(-1)).toMatchObject({ outcome: 'baseline' });
    expect(candidates.filter((c) => c.outcome === 'pruned').length).toBeGreaterThan(20);
    const chosen = candidates.find((c) => c.chosen);
    expect(chosen.val_accuracy).toBe(Math.max(...candidates.filter((c) => c.outcome !== 'baseline').map((c) => c.val_accuracy)));
    // The winner's epochs are the run's, and its model reaches what separable features allow.
    const { rows: epochs } = await db.query('SELECT epoch FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [row.id]);
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: row.epochs_done }, (_, i) => i + 1));
    const { rows: [evaluation] } = await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [row.id]);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    const model = await loadTrainedModel(path.join(root, 'artifacts', row.id, 'model'));
    expect(model.manifest.config.search?.chosen).toBe(row.config.search.chosen);
    expect(model.manifest.config.normalize).toBe(chosen.name.endsWith(' power') ? 'power' : 'none');
    expect(model.standardization !== null).toBe(chosen.name.endsWith(' standardized'));
    // The model: the chosen candidate and the next best its ensemble took (k chosen on validation); no mirrors, no test-time augmentation.
    expect(row.config.search.members[0]).toBe(row.config.search.chosen);
    expect(row.config.search.testTimeAugment).toBe('none');
    expect(model.manifest.testTimeAugment).toBe('none');
    expect(model.members.map((m) => m.normalize)).toEqual(row.config.search.members.slice(1).map((name: string) => (name.endsWith(' power') ? 'power' : 'none')));
    expect(model.members.map((m) => m.standardization !== null)).toEqual(row.config.search.members.slice(1).map((name: string) => name.endsWith(' standardized')));
    model.head.dispose();
    model.members.forEach((m) => m.head.dispose());

    const shown = await cli('runs', 'show', row.id);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/head chosen by --head auto from 45 candidates/);
    expect(shown.out).toMatch(/◀ chosen/);
    expect(shown.out).toMatch(/knn cosine k=\d+/);
  }, 240000);

  it('holds a validation split out of the training split for a set without one: per class, the same images each run, none of them trained on', async () => {
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows: { training: 600, validation: 0, evaluation: 120 }, separable: true, seed: 14, storeId: 'store-t', featuresDir: path.join(root, 'features') });
    const result = await cli('train', featureSetId, '--head', 'auto', '--epochs', '3');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/validation split: 10% of each class's training images, held out \(the feature set has none\)/);
    const row = (await db.query('SELECT id, config FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0];
    expect(row.config.validationHoldout).toBe(0.1);
    const { rows: candidates } = await db.query('SELECT val_accuracy FROM run_candidates WHERE run_id = $1', [row.id]);
    expect(candidates.every((c) => c.val_accuracy !== null)).toBe(true);
    // The held-out images are the validation split the run's head was judged on: round(10%) of each class's training images.
    const heldOut = async (runId: string) =>
      (await db.query("SELECT p.image_id, i.split, i.label FROM run_image_predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = $1 AND p.split = 'validation' ORDER BY p.image_id", [runId])).rows;
    const validation = await heldOut(row.id);
    expect(new Set(validation.map((v) => v.split))).toEqual(new Set(['training']));
    const { rows: perClass } = await db.query("SELECT i.label, count(*)::int AS images FROM feature_vectors v JOIN images i ON i.id = v.image_id WHERE v.feature_set_id = $1 AND i.split = 'training' GROUP BY i.label", [featureSetId]);
    for (const { label, images } of perClass) expect(validation.filter((v) => v.label === label)).toHaveLength(Math.round(images * 0.1));
    const { rows: [evaluation] } = await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [row.id]);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    // Training read the other images only: the statistics its standardized candidates used are theirs.
    const { rows: [stored] } = await db.query("SELECT path, rows FROM feature_shards WHERE feature_set_id = $1 AND split = 'training'", [featureSetId]);
    const reader = await ShardReader.open(shardDir(path.join(root, 'features'), stored.path), { rows: stored.rows });
    const shard = await reader.readStored(0, stored.rows);
    await reader.close();
    const held = new Set(validation.map((v) => Number(v.image_id)));
    const mean = new Float64Array(32);
    let trained = 0;
    shard.imageIds.forEach((id, r) => {
      if (held.has(Number(id))) return;
      trained++;
      for (let d = 0; d < 32; d++) mean[d] += shard.features[r * 32 + d];
    });
    expect(trained).toBe(600 - held.size);
    const recorded = (await readNpy(path.join(root, 'artifacts', row.id, 'standardization', 'mean.npy'))).data as Float32Array;
    recorded.forEach((value, d) => expect(value).toBeCloseTo(mean[d] / trained, 4));

    // A logistic run choosing its L2 holds out the same images.
    const logistic = await cli('train', featureSetId, '--head', 'logistic', '--epochs', '2');
    expect(logistic.code).toBe(0);
    const second = (await db.query("SELECT id, config FROM training_runs WHERE feature_set_id = $1 AND config->>'head' = 'logistic' AND config->'search' IS NULL", [featureSetId])).rows[0];
    expect(second.config).toMatchObject({ validationHoldout: 0.1, l2: expect.any(Number) });
    expect((await heldOut(second.id)).map((v) => v.image_id)).toEqual(validation.map((v) => v.image_id));

    // A set with a validation split has one already: asking to hold one out is refused before anything is queued.
    const withValidation = await synthetic(true, 15);
    const refused = await cli('train', withValidation.featureSetId, '--holdout', '0.2');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/validationHoldout: feature set \S+ has a validation split/);
  }, 240000);

  it('refuses a runs.create command from any NATS client for a dataset of one class, with the reason on record and no run', async () => {
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: ['solo'], dim: 8, rows: { training: 10, validation: 0, evaluation: 0 }, separable: true, seed: 16, storeId: 'store-t', featuresDir: path.join(root, 'features') });
    const bus = await connectBus({ url: TEST_NATS_URL, name: 'one-class-client', namespace: services.namespace });
    try {
      const id = randomUUID();
      await publish(bus, createRunCommand, createRunCommand.schema.parse({ v: 1, id, featureSetId }));
      const command = await waitForCommand(db, id);
      expect(command).toMatchObject({ status: 'failed', error: expect.stringMatching(/^dataset synthetic-\d+ has one class \(solo\): a classifier needs images of two classes or more$/) });
      expect((await db.query('SELECT count(*)::int AS n FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0].n).toBe(0);
    } finally {
      await bus.nc.close();
    }
  });

  it('cross-validates the converged candidates with --cv-folds: one stays in the race, the others ruled out, with their held-out scores', async () => {
    const { featureSetId } = await synthetic(true, 13);
    const refused = await cli('train', featureSetId, '--head', 'mlp', '--cv-folds', '3');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/cvFolds: only head auto cross-validates its candidates/);

    const result = await cli('train', featureSetId, '--head', 'auto', '--epochs', '3', '--cv-folds', '3');
    expect(result.code).toBe(0);
    const row = (await db.query('SELECT id, config FROM training_runs WHERE feature_set_id = $1 ORDER BY created_at DESC LIMIT 1', [featureSetId])).rows[0];
    expect(row.config.search).toMatchObject({ convergedFolds: 3 });
    expect(row.config.cvFolds).toBeUndefined();
    const { rows: converged } = await db.query("SELECT name, outcome, val_accuracy, cv_accuracy, cv_loss, sample_rows, split_rows, chosen FROM run_candidates WHERE run_id = $1 AND name LIKE '%lbfgs%' ORDER BY position", [row.id]);
    expect(converged).toHaveLength(8);
    // The split fits in memory: every row fit, no sample.
    expect(converged.map((c) => [c.sample_rows, c.split_rows])).toEqual(converged.map(() => [null, null]));
    expect(converged.filter((c) => c.outcome === 'fit')).toHaveLength(1);
    expect(converged.filter((c) => c.outcome === 'ruled-out')).toHaveLength(7);
    for (const c of converged) {
      expect(c.cv_accuracy).toBeGreaterThan(0.9);
      expect(c.cv_loss).toBeGreaterThan(0);
      expect(c.val_accuracy).not.toBeNull();
    }
    const kept = converged.find((c) => c.outcome === 'fit');
    expect(kept.cv_accuracy).toBe(Math.max(...converged.map((c) => c.cv_accuracy)));
    expect(converged.filter((c) => c.outcome === 'ruled-out').some((c) => c.chosen)).toBe(false);
    const shown = await cli('runs', 'show', row.id);
    expect(shown.out).toMatch(/ruled out by cross-validation, cross-validation \d+\.\d%/);
    expect(shown.out).toMatch(/fit on the whole split \(L-BFGS\), cross-validation \d+\.\d%/);
    expect(shown.out).toMatch(/cross-validation \(3 folds of the training split\) kept logistic lbfgs l2=\S+ \w+ \(\d+\.\d% held out\)/);
  }, 240000);

  it('records what a logistic run without L2 does before its first epoch (choosing L2, epoch by epoch), and the CLI shows it', async () => {
    // Ten search epochs of 4,000 rows in batches of 4: each candidate epoch's start goes on record
    // (rows within an epoch at most once a second), and the search lasts long enough to be seen
    // even on the fastest engine.
    const rows = { training: 4000, validation: 400, evaluation: 120 };
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows, separable: true, seed: 5, storeId: 'store-t', featuresDir: path.join(root, 'features') });
    const drawn: string[] = [];
    const following = runTestCli(services.apiUrl, ['train', featureSetId, '--head', 'logistic', '--epochs', '10', '--batch-size', '4'], { progress: { isTTY: true, write: (text: string) => drawn.push(text) > 0 } });

    // The run as the API reads it, until its first epoch is on record.
    const before: Array<{ step: string; done: number; total: number; rowsPerSecond: number | null; candidates?: number; epoch?: number; epochs?: number }> = [];
    for (let i = 0; i < 1200; i++) {
      const row = (await db.query('SELECT status, epochs_done, phase FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0];
      if (row && (row.epochs_done > 0 || ['succeeded', 'failed', 'cancelled'].includes(row.status))) break;
      if (row?.phase && JSON.stringify(row.phase) !== JSON.stringify(before[before.length - 1])) before.push(row.phase);
      await new Promise((r) => setTimeout(r, 50));
    }
    const result = await following;
    expect(result.code).toBe(0);

    const search = before.filter((p) => p.step === 'choosing-l2');
    // The first state seen (the poll may come after the step began: a fast engine's epoch is ~0.1 s).
    expect(search[0]).toMatchObject({ step: 'choosing-l2', unit: 'rows', total: 10 * rows.training + rows.validation, candidates: 5, epochs: 10 });
    const moving = search.filter((p) => p.done > 0);
    expect(moving.length).toBeGreaterThan(0);
    for (const p of moving) expect(p.rowsPerSecond).toBeGreaterThan(0);
    // Done only grows, and the candidates' epoch with it; the search comes before the training.
    expect(moving.map((p) => p.done)).toEqual([...moving.map((p) => p.done)].sort((a, b) => a - b));
    expect(moving.map((p) => p.epoch)).toEqual([...moving.map((p) => p.epoch!)].sort((a, b) => a - b));
    const steps = before.map((p) => p.step).filter((step, i, all) => step !== all[i - 1]);
    expect(steps.slice(0, 2)).toEqual(steps.includes('training') ? ['choosing-l2', 'training'] : ['choosing-l2']);

    const run = (await db.query('SELECT id, status, phase FROM training_runs WHERE feature_set_id = $1', [featureSetId])).rows[0];
    expect(run).toMatchObject({ status: 'succeeded', phase: null });
    expect(drawn.join('')).toMatch(/choosing L2 \(5 candidates\): epoch \d+\/10 \[[█░]{20}\] \d+% · ([\d,]+|--) rows\/s · ETA /);
  }, 240000);

  it('cancels a running run', async () => {
    const { featureSetId } = await synthetic(true, 4);
    const started = await cli('train', featureSetId, '--epochs', '2000', '--batch-size', '8', '--no-wait', '--json');
    expect(started.code).toBe(0);
    const { runId } = JSON.parse(started.out);
    for (let i = 0; i < 200 && !((await run(runId))?.epochs_done >= 1); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await run(runId)).status).toBe('running');
    expect((await cli('runs', 'cancel', runId)).code).toBe(0);
    for (let i = 0; i < 100 && (await run(runId)).status === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
    const row = await run(runId);
    expect(row.status).toBe('cancelled');
    expect(row.epochs_done).toBeLessThan(2000);
  }, 120000);
});

/** A trainer killed with SIGKILL mid-training: the next trainer resumes the run from its checkpoint. */
/** Class probabilities of the trained head in `modelDir` on one image through `network`, as the API computes them. */
async function headOnImage(modelDir: string, networkDir: string, image: string): Promise<Float32Array> {
  const trained = await loadTrainedModel(modelDir);
  const extractor = await createFeatureExtractor({ model: networkDir, layer: 'feat', pooling: 'avg', backend: 'wasm' });
  try {
    const features = (await extractor.extract([await decodeImage(image, { size: extractor.inputSize })])).data;
    standardizeInPlace(features, trained.standardization!);
    return trained.head.predictProba(features);
  } finally {
    extractor.dispose();
    trained.head.dispose();
  }
}

describe('a killed trainer', () => {
  let root: string;
  let services: TestServices;
  let db: Client;

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-kill-')));
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store'],
      env: { FEATX_FEATURES_DIR: path.join(root, 'features'), FEATX_STORE_ID: 'store-k' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await services?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('leaves no run running forever: the run resumes from its last checkpoint and finishes', async () => {
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows: ROWS, separable: true, storeId: 'store-k', featuresDir: path.join(root, 'features') });
    const env = {
      ...process.env,
      FEATX_DATABASE_URL: services.database.url,
      FEATX_NAMESPACE: services.namespace,
      FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'),
      FEATX_RUN_STALE_MS: '3000',
      FEATX_TF_BACKEND: 'wasm',
      FEATX_LOG_LEVEL: 'warn',
    };
    const trainer = () => launchServices(serviceInstances(1, 900).filter((i) => i.service === 'trainer'), env, () => undefined);
    const first = trainer();
    await first.ready(60000);
    const queued = await runCli(['--api-url', services.apiUrl, '--token', TEST_API_TOKEN, 'train', featureSetId, '--epochs', '60', '--batch-size', '4', '--no-wait', '--json'], () => undefined);
    expect(queued).toBe(0);
    const runId = () => db.query('SELECT id, status, epochs_done, resumes, published_artifacts FROM training_runs WHERE feature_set_id = $1', [featureSetId]).then((r) => r.rows[0]);
    for (let i = 0; i < 300 && !((await runId())?.epochs_done >= 3); i++) await new Promise((r) => setTimeout(r, 100));
    const before = await runId();
    expect(before.status).toBe('running');
    process.kill(first.pids().trainer, 'SIGKILL');
    await first.stop(1000);

    const second = trainer();
    try {
      for (let i = 0; i < 1200 && (await runId()).status === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
      const after = await runId();
      expect(after).toMatchObject({ status: 'succeeded', epochs_done: 60, resumes: 1 });
      // The trainer that finished it published the model: names on record, the model folder whole.
      expect(after.published_artifacts.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['model/featx-head.json', 'model/model.json', 'curves.png']));
      const { rows } = await db.query('SELECT epoch FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [after.id]);
      expect(rows.map((r) => r.epoch)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    } finally {
      await second.stop(5000);
    }
  }, 240000);
});
