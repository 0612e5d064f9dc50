import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectBus, BusConnection } from '@featx/bus';
import { decodeMessage } from '@featx/contracts';
import { TEST_NATS_URL } from '@featx/testing';
import { startTestServices, TestServices, TEST_API_TOKEN, runTestCli, callTestApi } from './support/test-services';
import { describeConfig } from '../apps/cli/src/commands/runs.command';
import { epochLine, liveText } from '../apps/cli/src/commands/train.command';

/**
 * What the API and the CLI do for training runs on their own: validate and publish runs.create and
 * runs.cancel, and report runs, their epochs, evaluations and plots. The trainer is not running
 * here; the test plays its part, writing training_runs, epoch_metrics and evaluations rows.
 */
describe('training runs (API, bus, CLI)', () => {
  let dataRoot: string;
  let outDir: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let datasetId: string;
  let completeSet: string;
  let runningSet: string;
  let oneClassSet: string;

  const CLASSES = ['food', 'non_food'];
  const DEFAULTS = { head: 'mlp', dropout: 0, optimizer: 'sgd', learningRate: 0.001, momentum: 0.9, epochs: 25, batchSize: 32, classWeights: false, standardize: false, normalize: 'none', seed: 42, shuffleBuffer: 2048 };
  const REPORT = [
    '              precision    recall  f1-score   support',
    '',
    '        food       0.95      0.97      0.96       500',
    '    non_food       0.97      0.95      0.96       500',
    '',
    '    accuracy                           0.96      1000',
    '   macro avg       0.96      0.96      0.96      1000',
    'weighted avg       0.96      0.96      0.96      1000',
    '',
  ].join('\n');
  const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-data-')));
    outDir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-runs-out-')));
    services = await startTestServices({ dataRoots: `data=${dataRoot}` });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'runs-client', namespace: services.namespace });
    datasetId = (
      await db.query(`INSERT INTO datasets (name, root, path, layout, classes, status, image_count) VALUES ('food', 'data', 'food', 'split-class', $1, 'ready', 4) RETURNING id`, [JSON.stringify(CLASSES)])
    ).rows[0].id;
    completeSet = await insertSet('complete');
    runningSet = await insertSet('running');
    const oneClass = (await db.query(`INSERT INTO datasets (name, root, path, layout, classes, status, image_count) VALUES ('hats', 'data', 'hats', 'class', '["hat"]', 'ready', 4) RETURNING id`)).rows[0].id;
    oneClassSet = await insertSet('complete', oneClass);
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
    await fs.rm(outDir, { recursive: true, force: true });
  });

  const progress = { isTTY: false, write: () => true };
  const cli = (...args: string[]) => runTestCli(services.apiUrl, args, { progress });

  const api = (method: string, route: string, body?: unknown, token?: string | null) => callTestApi(services.apiUrl, method, route, body, token);

  async function fetchRaw(route: string) {
    const response = await fetch(`${services.apiUrl}${route}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    return { status: response.status, contentType: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
  }

  const commandCount = async () => (await db.query('SELECT count(*)::int AS n FROM commands')).rows[0].n as number;

  async function insertSet(status: 'running' | 'complete', ofDataset = datasetId): Promise<string> {
    const { rows } = await db.query(
      `INSERT INTO feature_sets (dataset_id, model, layer, pooling, dtype, dim, spec, status, images, stored, finished_at)
       VALUES ($1, $2, '', 'avg', 'float32', 1280, '{}'::jsonb, $3, 4, $4, ${status === 'complete' ? 'now()' : 'NULL'}) RETURNING id`,
      [ofDataset, `model-${Math.random().toString(36).slice(2)}`, status, status === 'complete' ? 4 : 1],
    );
    return rows[0].id;
  }

  /** A training_runs row as the trainer writes it. */
  async function insertRun(row: { id?: string; status?: string; epochs?: number; epochsDone?: number; bestEpoch?: number | null; bestValLoss?: number | null; error?: string | null; config?: Record<string, unknown> } = {}): Promise<string> {
    const config = { featureSetId: completeSet, ...DEFAULTS, epochs: row.epochs ?? 3, ...row.config };
    const { rows } = await db.query(
      `INSERT INTO training_runs (id, feature_set_id, config, status, epochs_done, best_epoch, best_val_loss, error, classes, worker, started_at, finished_at)
       VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, 'trainer-1', now() - interval '10 seconds', ${['succeeded', 'failed', 'cancelled'].includes(row.status ?? 'running') ? 'now()' : 'NULL'})
       RETURNING id`,
      [row.id ?? null, completeSet, config, row.status ?? 'running', row.epochsDone ?? 0, row.bestEpoch ?? null, row.bestValLoss ?? null, row.error ?? null, JSON.stringify(CLASSES)],
    );
    return rows[0].id;
  }

  async function insertEpoch(runId: string, epoch: number, m: { loss?: number; accuracy?: number; valLoss?: number | null; valAccuracy?: number | null; durationMs?: number; rowsPerSecond?: number } = {}): Promise<void> {
    await db.query(
      `INSERT INTO epoch_metrics (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, duration_ms, rows_per_second)
       VALUES ($1, $2, $3, $4, $5, $6, 0.001, $7, $8)`,
      [runId, epoch, m.loss ?? r4(0.7 - epoch * 0.1), m.accuracy ?? r4(0.5 + epoch * 0.1), m.valLoss === undefined ? r4(0.75 - epoch * 0.1) : m.valLoss, m.valAccuracy === undefined ? r4(0.45 + epoch * 0.1) : m.valAccuracy, m.durationMs ?? 2100, m.rowsPerSecond ?? 1460.4],
    );
    await db.query('UPDATE training_runs SET epochs_done = greatest(epochs_done, $2) WHERE id = $1', [runId, epoch]);
  }

  async function insertEvaluation(runId: string, split: string, confusion: number[][] = [[485, 15], [25, 475]]): Promise<void> {
    const m = { precision: 0.96, recall: 0.96, f1: 0.96, support: 1000 };
    await db.query(
      `INSERT INTO evaluations (run_id, split, accuracy, loss, per_class, macro_avg, weighted_avg, confusion, report)
       VALUES ($1, $2, 0.96, 0.1234, $3, $4, $4, $5, $6)`,
      [runId, split, JSON.stringify(CLASSES.map((label) => ({ label, ...m, support: 500 }))), m, JSON.stringify(confusion), REPORT],
    );
  }

  async function waitForQueued(predicate: (payload: Record<string, unknown>) => boolean): Promise<{ id: string; payload: Record<string, unknown> }> {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.query("SELECT id, payload FROM commands WHERE type = 'runs.create' AND status = 'queued' ORDER BY created_at");
      const found = rows.find((r) => predicate(r.payload));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no queued runs.create command');
  }

  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe('POST /runs', () => {
    it('answers bad requests with a 400 naming the field, and writes nothing', async () => {
      const before = await commandCount();
      const unknownSet = '6f1c1a52-0000-4000-8000-00000000ffff';
      const cases: Array<[unknown, RegExp]> = [
        [{ featureSetId: unknownSet }, /^featureSetId: feature set 6f1c1a52-0000-4000-8000-00000000ffff does not exist$/],
        [{ featureSetId: runningSet }, /^featureSetId: feature set .* is running, not complete/],
        [{ featureSetId: oneClassSet }, /^featureSetId: dataset hats has one class \(hat\): a classifier needs images of two classes or more$/],
        [{ featureSetId: completeSet, validationHoldout: 0.7 }, /^validationHoldout: /],
        [{}, /^featureSetId: /],
        [{ featureSetId: 'nope' }, /^featureSetId: /],
        [{ featureSetId: completeSet, head: 'svm' }, /^head: /],
        [{ featureSetId: completeSet, epochs: 0 }, /^epochs: /],
        [{ featureSetId: completeSet, epochs: 2.5 }, /^epochs: /],
        [{ featureSetId: completeSet, optimizer: 'rmsprop' }, /^optimizer: /],
        [{ featureSetId: completeSet, learningRate: -1 }, /^learningRate: /],
        [{ featureSetId: completeSet, hidden: [] }, /^hidden: /],
        [{ featureSetId: completeSet, head: 'logistic', hidden: [16] }, /^hidden: hidden layers are for the mlp head/],
        [{ featureSetId: completeSet, extra: 1 }, /extra/],
        ['[1]', /JSON object/],
      ];
      for (const [body, message] of cases) {
        const res = await api('POST', '/runs', body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.message).toMatch(message);
      }
      const both = await api('POST', '/runs', { featureSetId: unknownSet, head: 'logistic', hidden: [4] });
      expect(both.body.errors.map((e: { field: string }) => e.field)).toEqual(['featureSetId', 'hidden']);
      expect(await commandCount()).toBe(before);
    });

    it('records a queued runs.create command with a new run id, publishes it, and shows the run as queued at once', async () => {
      const res = await api('POST', '/runs', { featureSetId: completeSet, hidden: [256, 16], epochs: 5, standardize: true });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ commandId: expect.any(String), runId: expect.any(String), type: 'runs.create', status: 'queued' });
      const { commandId, runId } = res.body;
      expect(runId).not.toBe(commandId);

      const expected = { ...DEFAULTS, featureSetId: completeSet, hidden: [256, 16], epochs: 5, standardize: true };
      const { rows } = await db.query('SELECT type, status, payload FROM commands WHERE id = $1', [commandId]);
      expect(rows).toEqual([{ type: 'runs.create', status: 'queued', payload: { ...expected, runId } }]);

      const stored = await bus.jsm.streams.getMessage(bus.names.streams.commands, { last_by_subj: bus.names.subjects.createRun });
      expect(stored!.subject).toBe(`${services.namespace}.cmd.runs.create`);
      expect(stored!.header.get('Featx-Message')).toBe('runs.create');
      expect(decodeMessage(stored!.data)).toEqual({ v: 1, id: commandId, runId, ...expected });

      // The trainer has not taken it: the run is seen through its command.
      const run = await api('GET', `/runs/${runId}`);
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ id: runId, featureSetId: completeSet, status: 'queued', epochs: 5, epochsDone: 0, config: expected, epochMetrics: [] });
      expect((await api('GET', `/runs/${runId}/report`)).body).toEqual({ runId, status: 'queued', classes: [], evaluations: [] });
      const plot = await api('GET', `/runs/${runId}/plots/curves.svg`);
      expect(plot.status).toBe(409);

      // Refused by the trainer: failed, with the command's reason.
      await db.query("UPDATE commands SET status = 'failed', error = 'feature set has no training split', finished_at = now() WHERE id = $1", [commandId]);
      expect((await api('GET', `/runs/${runId}`)).body).toMatchObject({ status: 'failed', error: 'feature set has no training split' });
    });
  });

  describe('POST /runs/:id/cancel', () => {
    it('publishes runs.cancel for a queued or running run, 409 once finished, 404 for none', async () => {
      const running = await insertRun();
      const res = await api('POST', `/runs/${running}/cancel`);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ commandId: expect.any(String), runId: running, type: 'runs.cancel', status: 'queued' });
      const { rows } = await db.query('SELECT type, status, payload FROM commands WHERE id = $1', [res.body.commandId]);
      expect(rows).toEqual([{ type: 'runs.cancel', status: 'queued', payload: { runId: running } }]);
      const stored = await bus.jsm.streams.getMessage(bus.names.streams.commands, { last_by_subj: bus.names.subjects.cancelRun });
      expect(decodeMessage(stored!.data)).toEqual({ v: 1, id: res.body.commandId, runId: running });

      const queued = (await api('POST', '/runs', { featureSetId: completeSet })).body.runId;
      expect((await api('POST', `/runs/${queued}/cancel`)).status).toBe(202);

      const done = await insertRun({ status: 'succeeded', epochsDone: 3 });
      const finished = await api('POST', `/runs/${done}/cancel`);
      expect(finished.status).toBe(409);
      expect(finished.body.message).toBe(`run ${done} is already succeeded`);

      const unknown = '6f1c1a52-0000-4000-8000-00000000fffe';
      const missing = await api('POST', `/runs/${unknown}/cancel`);
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe(`run ${unknown} not found`);
      expect((await api('POST', '/runs/nope/cancel')).status).toBe(400);

      const cancel = await cli('runs', 'cancel', running);
      expect(cancel).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^cancel of run ${running} requested \\(command [0-9a-f-]{36}\\)$`)) });
    });
  });

  describe('GET /runs', () => {
    it('a run with its configuration, progress and epochs', async () => {
      const id = await insertRun({ epochs: 4, bestEpoch: 2, bestValLoss: 0.55 });
      await insertEpoch(id, 1);
      await insertEpoch(id, 2, { valLoss: null, valAccuracy: null });
      const res = await api('GET', `/runs/${id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id,
        featureSetId: completeSet,
        status: 'running',
        error: null,
        classes: CLASSES,
        epochs: 4,
        epochsDone: 2,
        bestEpoch: 2,
        bestValLoss: 0.55,
        resumes: 0,
        worker: 'trainer-1',
        phase: null,
        config: { ...DEFAULTS, featureSetId: completeSet, epochs: 4 },
        startedAt: expect.any(String),
        finishedAt: null,
      });
      expect(res.body.epochMetrics).toEqual([
        { epoch: 1, trainLoss: 0.6, trainAccuracy: 0.6, valLoss: 0.65, valAccuracy: 0.55, learningRate: 0.001, durationMs: 2100, rowsPerSecond: 1460.4, at: expect.any(String) },
        { epoch: 2, trainLoss: 0.5, trainAccuracy: 0.7, valLoss: null, valAccuracy: null, learningRate: 0.001, durationMs: 2100, rowsPerSecond: 1460.4, at: expect.any(String) },
      ]);
    });

    it('what a running run is doing now (its phase, as the trainer records it), in the run and in the list', async () => {
      const id = await insertRun({ epochs: 25, config: { head: 'logistic' } });
      const phase = { step: 'choosing-l2', unit: 'rows', done: 9307, total: 31021, rowsPerSecond: 1480.4, candidates: 5, epoch: 3, epochs: 10 };
      await db.query('UPDATE training_runs SET phase = $2 WHERE id = $1', [id, phase]);
      expect((await api('GET', `/runs/${id}`)).body).toMatchObject({ id, status: 'running', epochsDone: 0, phase, epochMetrics: [] });
      expect((await api('GET', '/runs')).body.items.find((r: { id: string }) => r.id === id)).toMatchObject({ phase });

      const docs = (await (await fetch(`${services.apiUrl}/docs/json`)).json()) as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { oneOf: Array<{ properties: { step: { const: string } } }> }> } }> }> } }> };
      const documented = docs.paths['/runs/{id}'].get.responses['200'].content['application/json'].schema.properties.phase;
      expect(documented.oneOf.map((s) => s.properties.step.const)).toEqual(['standardizing', 'choosing-l2', 'choosing-head', 'waiting-for-shares', 'training', 'evaluating']);
    });

    it('lists runs, optionally of one feature set; 404 for an unknown run, 400 for a bad id', async () => {
      const all = (await api('GET', '/runs')).body.items;
      expect(all.length).toBeGreaterThanOrEqual(3);
      expect(all[0]).not.toHaveProperty('epochMetrics');
      expect((await api('GET', `/runs?featureSetId=${completeSet}`)).body.items).toHaveLength(all.length);
      expect((await api('GET', `/runs?featureSetId=${runningSet}`)).body).toEqual({ items: [], next: null });
      const badQuery = await api('GET', '/runs?featureSetId=zzz');
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.message).toMatch(/^featureSetId: /);

      const unknown = '6f1c1a52-0000-4000-8000-00000000fffe';
      for (const route of ['', '/report', '/plots/curves.svg']) {
        const res = await api('GET', `/runs/${unknown}${route}`);
        expect({ route, status: res.status }).toEqual({ route, status: 404 });
        expect(res.body.message).toBe(`run ${unknown} not found`);
      }
      const bad = await api('GET', '/runs/nope');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^id: /);

      const docs = (await (await fetch(`${services.apiUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/runs', '/runs/{id}', '/runs/{id}/cancel', '/runs/{id}/report', '/runs/{id}/plots/{file}']));
    });
  });

  describe('GET /runs/:id/report and plots', () => {
    let evaluated: string;
    let fresh: string;

    beforeAll(async () => {
      evaluated = await insertRun({ status: 'succeeded', epochs: 3, bestEpoch: 3, bestValLoss: 0.45 });
      for (const epoch of [1, 2, 3]) await insertEpoch(evaluated, epoch);
      for (const split of ['evaluation', 'training', 'validation']) await insertEvaluation(evaluated, split);
      fresh = await insertRun({ status: 'running' });
    });

    it('the reports per split, in split order, with the sklearn text and the confusion matrix', async () => {
      const res = await api('GET', `/runs/${evaluated}/report`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ runId: evaluated, status: 'succeeded', classes: CLASSES });
      expect(res.body.evaluations.map((e: { split: string }) => e.split)).toEqual(['training', 'validation', 'evaluation']);
      expect(res.body.evaluations[2]).toEqual({
        split: 'evaluation',
        accuracy: 0.96,
        loss: 0.1234,
        perClass: [
          { label: 'food', precision: 0.96, recall: 0.96, f1: 0.96, support: 500 },
          { label: 'non_food', precision: 0.96, recall: 0.96, f1: 0.96, support: 500 },
        ],
        macroAvg: { precision: 0.96, recall: 0.96, f1: 0.96, support: 1000 },
        weightedAvg: { precision: 0.96, recall: 0.96, f1: 0.96, support: 1000 },
        confusion: [[485, 15], [25, 475]],
        report: REPORT,
        at: expect.any(String),
      });
      expect((await api('GET', `/runs/${fresh}/report`)).body).toEqual({ runId: fresh, status: 'running', classes: CLASSES, evaluations: [] });
    });

    it('draws the curves and the confusion matrix as SVG and PNG', async () => {
      for (const name of ['curves', 'confusion']) {
        const svg = await fetchRaw(`/runs/${evaluated}/plots/${name}.svg`);
        expect({ name, status: svg.status }).toEqual({ name, status: 200 });
        expect(svg.contentType).toMatch(/^image\/svg\+xml/);
        const text = svg.body.toString('utf8');
        expect(text).toMatch(/<svg[\s>]/);
        expect(text.trimEnd()).toMatch(/<\/svg>$/);
        const png = await fetchRaw(`/runs/${evaluated}/plots/${name}.png`);
        expect({ name, status: png.status }).toEqual({ name, status: 200 });
        expect(png.contentType).toBe('image/png');
        expect(png.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
        expect(png.body.length).toBeGreaterThan(1000);
      }
      const confusion = (await fetchRaw(`/runs/${evaluated}/plots/confusion.svg`)).body.toString('utf8');
      for (const label of [...CLASSES, '485', '475']) expect(confusion).toContain(label);
    });

    it('answers 409 while there is nothing to draw, 404 for an unknown plot', async () => {
      for (const file of ['curves.svg', 'curves.png']) {
        const res = await api('GET', `/runs/${fresh}/plots/${file}`);
        expect(res.status).toBe(409);
        expect(res.body.message).toBe(`run ${fresh} has no finished epoch yet: no training curves to draw`);
      }
      await insertEpoch(fresh, 1);
      expect((await fetchRaw(`/runs/${fresh}/plots/curves.svg`)).status).toBe(200);
      // Only the training split evaluated so far: still no confusion matrix of the evaluation split.
      await insertEvaluation(fresh, 'training');
      for (const file of ['confusion.svg', 'confusion.png']) {
        const res = await api('GET', `/runs/${fresh}/plots/${file}`);
        expect(res.status).toBe(409);
        expect(res.body.message).toMatch(/no evaluation of the evaluation split yet/);
      }
      const unknown = await api('GET', `/runs/${evaluated}/plots/loss.gif`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.message).toMatch(/^no plot "loss\.gif"/);
    });
  });

  describe('featx runs', () => {
    it('ls and show: the runs, a run’s configuration, status and epochs', async () => {
      const id = await insertRun({ status: 'succeeded', epochs: 2, bestEpoch: 2, bestValLoss: 0.5512, config: { hidden: [256, 16], dropout: 0.5 } });
      await insertEpoch(id, 1, { loss: 0.41234, accuracy: 0.87123, valLoss: 0.389, valAccuracy: 0.88271 });
      await insertEpoch(id, 2);
      const show = await cli('runs', 'show', id);
      expect(show.code).toBe(0);
      expect(show.out).toContain(`run ${id} — feature set ${completeSet}`);
      expect(show.out).toMatch(/status succeeded — epoch 2\/2, best epoch 2 \(val_loss 0\.5512\), took \d+(\.\d)? s/);
      expect(show.out).toContain('classes: food, non_food');
      expect(show.out).toContain('config: head mlp (256, 16), dropout 0.5, sgd lr 0.001 momentum 0.9, epochs 2, batch 32, seed 42, shuffle buffer 2048');
      expect(show.out).toMatch(/│ 1\s+│ 0\.4123\s+│ 0\.8712\s+│ 0\.3890\s+│ 0\.8827\s+│ 0\.00100\s+│ 2\.1 s\s+│ 1,460\s+│/);
      expect(JSON.parse((await cli('runs', 'show', id, '--json')).out)).toMatchObject({ id, epochMetrics: [{ epoch: 1 }, { epoch: 2 }] });
      expect(show.out).not.toContain('now:');

      // A running run: what it is doing now, under its status.
      const running = await insertRun({ epochs: 25, config: { head: 'logistic', standardize: true } });
      await db.query('UPDATE training_runs SET phase = $2 WHERE id = $1', [running, { step: 'standardizing', unit: 'rows', done: 1024, total: 3068, rowsPerSecond: 2100 }]);
      const busy = await cli('runs', 'show', running);
      expect(busy.out.split('\n').slice(1, 3)).toEqual([
        expect.stringMatching(/^status running — epoch 0\/25, running for \d/),
        `now: standardizing [${'█'.repeat(6)}${'░'.repeat(14)}] 1,024/3,068 rows 33% · 2,100 rows/s · ETA 1s`,
      ]);
      expect(busy.out).toContain('no finished epoch yet');

      const ls = await cli('runs', 'ls', '--feature-set', completeSet);
      expect(ls.code).toBe(0);
      expect(ls.out).toMatch(new RegExp(`│ ${id}\\s+│ ${completeSet}\\s+│ mlp 256,16\\s+│ succeeded\\s+│ 2/2\\s+│ 2\\s+│ 0\\.5512\\s+│`));
      expect((await cli('runs', 'ls', '--feature-set', runningSet)).out).toMatch(/no training runs yet/);

      const missing = await cli('runs', 'show', '6f1c1a52-0000-4000-8000-00000000fffe');
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/404: run .* not found/);
    });

    it('report: the report text and the confusion matrix; --out writes the four plots', async () => {
      const id = await insertRun({ status: 'succeeded', epochs: 2 });
      await insertEpoch(id, 1);
      await insertEpoch(id, 2);
      await insertEvaluation(id, 'evaluation', [[485, 15], [25, 475]]);
      const out = path.join(outDir, 'plots');
      const report = await cli('runs', 'report', id, '--out', out);
      expect(report).toMatchObject({ code: 0, err: '' });
      expect(report.out).toContain(`classification report, evaluation split (loss 0.1234):\n${REPORT.trimEnd()}`);
      expect(report.out).toMatch(/│ true \\ predicted\s+│ food\s+│ non_food\s+│/);
      expect(report.out).toMatch(/│ food\s+│ 485\s+│ 15\s+│/);
      expect(report.out).toMatch(/│ non_food\s+│ 25\s+│ 475\s+│/);
      expect((await fs.readdir(out)).sort()).toEqual(['confusion.png', 'confusion.svg', 'curves.png', 'curves.svg']);
      for (const name of ['curves', 'confusion']) {
        expect(await fs.readFile(path.join(out, `${name}.svg`), 'utf8')).toMatch(/<svg[\s>]/);
        expect((await fs.readFile(path.join(out, `${name}.png`))).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
        expect(report.out).toContain(`wrote ${path.join(out, `${name}.svg`)}`);
      }

      // --out with no folder: ./featx-run-<id8>; plots with nothing to draw yet are skipped with a note.
      const early = await insertRun({ status: 'running' });
      await insertEpoch(early, 1);
      const cwd = process.cwd();
      process.chdir(outDir);
      try {
        const partial = await cli('runs', 'report', early, '--out');
        expect(partial.code).toBe(0);
        expect(partial.out).toContain(`run ${early} (running) has no evaluation yet`);
        expect(partial.err).toMatch(/^not written: confusion\.svg: run .* has no evaluation of the evaluation split yet/);
        expect((await fs.readdir(path.join(outDir, `featx-run-${early.slice(0, 8)}`))).sort()).toEqual(['curves.png', 'curves.svg']);
      } finally {
        process.chdir(cwd);
      }
    });
  });

  describe('featx train, following the run to the end', () => {
    it('rejects bad options before asking, and shows the API’s 400', async () => {
      expect(await cli('train', completeSet, '--head', 'svm')).toMatchObject({ code: 2 });
      expect(await cli('train', completeSet, '--epochs', 'many')).toMatchObject({ code: 2 });
      expect(await cli('train', completeSet, '--hidden', '256,x')).toMatchObject({ code: 2 });
      const refused = await cli('train', runningSet);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/400: featureSetId: feature set .* is running, not complete/);
      const queued = await cli('train', completeSet, '--head', 'logistic', '--l2', '0.01', '--no-wait', '--json');
      expect(queued.code).toBe(0);
      const { commandId, runId } = JSON.parse(queued.out);
      const { rows } = await db.query('SELECT payload FROM commands WHERE id = $1', [commandId]);
      expect(rows[0].payload).toEqual({ ...DEFAULTS, featureSetId: completeSet, head: 'logistic', l2: 0.01, runId });
    });

    it('prints each epoch as Keras does, then the evaluation report, and exits 0 when the run succeeds', async () => {
      const running = cli('train', completeSet, '--hidden', '256,16', '--dropout', '0.5', '--optimizer', 'adam', '--lr', '0.0005', '--epochs', '3', '--batch-size', '64', '--class-weights', '--standardize', '--patience', '2', '--seed', '7');
      const command = await waitForQueued((p) => p.seed === 7);
      const runId = command.payload.runId as string;
      expect(command.payload).toEqual({
        ...DEFAULTS,
        featureSetId: completeSet,
        hidden: [256, 16],
        dropout: 0.5,
        optimizer: 'adam',
        learningRate: 0.0005,
        epochs: 3,
        batchSize: 64,
        classWeights: true,
        standardize: true,
        earlyStoppingPatience: 2,
        seed: 7,
        runId,
      });

      // The trainer's part: take the run, finish epochs one by one, evaluate, succeed.
      await sleep(600);
      await insertRun({ id: runId, status: 'running', epochs: 3, config: command.payload });
      await sleep(700);
      await insertEpoch(runId, 1, { loss: 0.41234, accuracy: 0.87123, valLoss: 0.389, valAccuracy: 0.88271, durationMs: 2100, rowsPerSecond: 1460.4 });
      await sleep(700);
      await insertEpoch(runId, 2);
      await insertEpoch(runId, 3, { valLoss: null, valAccuracy: null, durationMs: 850 });
      await insertEvaluation(runId, 'validation');
      await insertEvaluation(runId, 'evaluation');
      await db.query("UPDATE training_runs SET status = 'succeeded', best_epoch = 2, best_val_loss = 0.55, finished_at = now() WHERE id = $1", [runId]);

      const result = await running;
      expect(result.code).toBe(0);
      const lines = result.out.split('\n');
      expect(lines[0]).toBe(`run ${runId} queued — featx runs show ${runId} to look at it, featx runs cancel ${runId} to stop it`);
      expect(lines.filter((l) => l.startsWith('Epoch '))).toEqual([
        'Epoch 1/3 — loss: 0.4123 - accuracy: 0.8712 - val_loss: 0.3890 - val_accuracy: 0.8827 — 2.1 s, 1,460 rows/s',
        'Epoch 2/3 — loss: 0.5000 - accuracy: 0.7000 - val_loss: 0.5500 - val_accuracy: 0.6500 — 2.1 s, 1,460 rows/s',
        'Epoch 3/3 — loss: 0.4000 - accuracy: 0.8000 — 850 ms, 1,460 rows/s',
      ]);
      expect(result.out).toContain(`run ${runId} succeeded after 3/3 epochs; best epoch 2 (val_loss 0.5500)`);
      expect(result.out).toContain(`classification report, evaluation split:\n${REPORT.trimEnd()}`);
      expect(result.out).not.toContain('validation split');
      // Not a TTY: the live line is printed at most every 5 s: queued first, nothing else in 2 s.
      expect(result.err).toMatch(/^run [0-9a-f]{8} queued, waiting for a trainer…$/);
    });

    it('shows the live bar while epochs run, and exits 1 with the reason when the run fails or is cancelled', async () => {
      const failing = cli('train', completeSet, '--epochs', '4', '--seed', '8');
      const command = await waitForQueued((p) => p.seed === 8);
      const runId = command.payload.runId as string;
      await insertRun({ id: runId, status: 'running', epochs: 4, config: command.payload });
      await insertEpoch(runId, 1, { durationMs: 2000, rowsPerSecond: 1500 });
      await sleep(700);
      await db.query("UPDATE training_runs SET status = 'failed', error = 'shard 3 of the training split is unreadable', finished_at = now() WHERE id = $1", [runId]);
      const failed = await failing;
      expect(failed.code).toBe(1);
      expect(failed.out).toContain('Epoch 1/4 — loss: 0.6000');
      expect(failed.out).toContain(`run ${runId} failed: shard 3 of the training split is unreadable after 1/4 epochs`);
      expect(failed.err).toMatch(new RegExp(`featx: run ${runId} failed: shard 3 of the training split is unreadable$`));

      const cancelling = cli('train', completeSet, '--epochs', '4', '--seed', '9', '--json');
      const second = await waitForQueued((p) => p.seed === 9);
      const secondId = second.payload.runId as string;
      expect((await cli('runs', 'cancel', secondId)).code).toBe(0);
      await insertRun({ id: secondId, status: 'cancelled', epochs: 4, config: second.payload });
      const cancelled = await cancelling;
      expect(cancelled.code).toBe(1);
      expect(JSON.parse(cancelled.out)).toMatchObject({ run: { id: secondId, status: 'cancelled' } });
      expect(cancelled.err).toMatch(new RegExp(`featx: run ${secondId} cancelled$`));
    });
  });

  describe('train output', () => {
    const run = { id: '0123abcd-0000-4000-8000-000000000001', featureSetId: 'x', kind: 'model' as const, parentRunId: null, status: 'running' as const, error: null, config: {}, classes: [], epochs: 4, epochsDone: 1, bestEpoch: null, bestValLoss: null, resumes: 0, cancelRequested: false, worker: 'w', heartbeatAt: null, phase: null, createdAt: '', startedAt: '', finishedAt: null };
    const epoch = { epoch: 1, trainLoss: 0.41234, trainAccuracy: 0.87123, valLoss: 0.389, valAccuracy: 0.88271, learningRate: 0.001, durationMs: 2000, rowsPerSecond: 1500, at: '' };

    it('the live line: queued, then the epoch running with epochs done of planned, rows/s and an ETA from the mean epoch time', () => {
      expect(liveText({ ...run, status: 'queued', epochsDone: 0, epochMetrics: [] })).toBe('run 0123abcd queued, waiting for a trainer…');
      expect(liveText({ ...run, epochsDone: 0, epochMetrics: [] })).toBe('epoch 1/4 [░░░░░░░░░░░░░░░░░░░░] 0/4 0% · -- rows/s · ETA --');
      expect(liveText({ ...run, epochMetrics: [epoch] })).toBe('epoch 2/4 [█████░░░░░░░░░░░░░░░] 1/4 25% · 1500 rows/s · ETA 6s');
      expect(liveText({ ...run, cancelRequested: true, epochMetrics: [epoch] })).toMatch(/^epoch 2\/4 \(cancelling\) \[/);
    });

    it('the epoch line, as Keras prints it', () => {
      expect(epochLine(epoch, 25)).toBe('Epoch 1/25 — loss: 0.4123 - accuracy: 0.8712 - val_loss: 0.3890 - val_accuracy: 0.8827 — 2.0 s, 1,500 rows/s');
      expect(epochLine({ ...epoch, valLoss: null, valAccuracy: null, durationMs: 420, rowsPerSecond: 12.4 }, 3)).toBe('Epoch 1/3 — loss: 0.4123 - accuracy: 0.8712 — 420 ms, 12 rows/s');
    });

    it('the configuration on one line', () => {
      expect(describeConfig({ featureSetId: 'x', head: 'logistic', l2: 0.01, dropout: 0, optimizer: 'adam', learningRate: 0.01, momentum: 0.9, decay: 0.001, epochs: 10, batchSize: 64, classWeights: true, standardize: true, earlyStoppingPatience: 3, seed: 1, shuffleBuffer: 512 })).toBe(
        'head logistic, l2 0.01, adam lr 0.01 decay 0.001, epochs 10, batch 64, class weights, standardized, patience 3, seed 1, shuffle buffer 512',
      );
      // A converged head auto chose: no learning rate or decay shown.
      expect(describeConfig({ head: 'logistic', l2: 0.003, dropout: 0, optimizer: 'lbfgs', learningRate: 1, momentum: 0, decay: 0, epochs: 1, batchSize: 32, normalize: 'power' })).toMatch(/^head logistic, l2 0.003, lbfgs \(fit to convergence\), epochs 1, batch 32/);
    });
  });
});
