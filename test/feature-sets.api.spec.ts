import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Client } from 'pg';
import { connectBus, BusConnection } from '@featx/bus';
import { decodeMessage } from '@featx/contracts';
import { TEST_NATS_URL } from '@featx/testing';
import { startTestServices, TestServices, runTestCli, callTestApi } from './support/test-services';
import { formatEta, LiveLine, renderProgressBar } from '../apps/cli/src/progress-bar';

/**
 * What the API and the CLI do for feature extraction on their own: validate and publish the
 * features.extract command, and report feature sets, their progress, shards and failures. The
 * feature-store service is not running here; where the CLI needs it, the test plays its part
 * (moving the command on and the set's counts forward in Postgres).
 */
describe('feature sets (API, bus, CLI)', () => {
  let dataRoot: string;
  let outside: string;
  let modelDir: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let datasetId: string;
  let imageIds: number[];

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-data-')));
    outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-outside-')));
    modelDir = path.join(dataRoot, 'models', 'tiny');
    await fs.mkdir(modelDir, { recursive: true });
    await fs.writeFile(path.join(modelDir, 'model.json'), '{}');
    await fs.mkdir(path.join(outside, 'model'), { recursive: true });
    services = await startTestServices({ dataRoots: `data=${dataRoot}` });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'feature-sets-client', namespace: services.namespace });

    let seed = 0;
    for (const split of ['training', 'evaluation']) {
      for (const label of ['food', 'non_food']) {
        const file = path.join(dataRoot, 'food', split, label, `${seed}.jpg`);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seed * 40, g: 10, b: 20 } } }).jpeg().toFile(file);
        seed++;
      }
    }
    const added = await cli('datasets', 'add', path.join(dataRoot, 'food'), '--json');
    expect(added.code).toBe(0);
    datasetId = JSON.parse(added.out).dataset.id;
    imageIds = (await db.query('SELECT id FROM images WHERE dataset_id = $1 ORDER BY path', [datasetId])).rows.map((r) => Number(r.id));
    expect(imageIds).toHaveLength(4);
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  const progress = { isTTY: false, write: () => true };
  const cli = (...args: string[]) => runTestCli(services.apiUrl, args, { progress });

  const api = (method: string, route: string, body?: unknown, token?: string | null) => callTestApi(services.apiUrl, method, route, body, token);

  const commandCount = async () => (await db.query('SELECT count(*)::int AS n FROM commands')).rows[0].n as number;

  interface SetRow {
    model?: string;
    layer?: string;
    pooling?: string;
    dtype?: string;
    dim?: number | null;
    status?: string;
    images?: number;
    stored?: number;
    failed?: number;
    doneAtStart?: number;
    error?: string | null;
    /** SQL expressions, e.g. `now() - interval '100 seconds'`. */
    startedAt?: string;
    finishedAt?: string | null;
  }

  /** A feature_sets row as the feature-store would have written it. */
  async function insertSet(row: SetRow = {}): Promise<string> {
    const { rows } = await db.query(
      `INSERT INTO feature_sets (dataset_id, model, layer, pooling, dtype, dim, spec, status, images, stored, failed, done_at_start, error, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, $7, $8, $9, $10, $11, $12, ${row.startedAt ?? 'now()'}, ${row.finishedAt ?? 'NULL'})
       RETURNING id`,
      [
        datasetId,
        row.model ?? `model-${Math.random().toString(36).slice(2)}`,
        row.layer ?? '',
        row.pooling ?? 'avg',
        row.dtype ?? 'float32',
        row.dim ?? null,
        row.status ?? 'running',
        row.images ?? 0,
        row.stored ?? 0,
        row.failed ?? 0,
        row.doneAtStart ?? 0,
        row.error ?? null,
      ],
    );
    return rows[0].id;
  }

  async function waitForQueued(predicate: (payload: Record<string, unknown>) => boolean): Promise<{ id: string; payload: Record<string, unknown> }> {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.query("SELECT id, payload FROM commands WHERE type = 'features.extract' AND status = 'queued' ORDER BY created_at");
      const found = rows.find((r) => predicate(r.payload));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no queued features.extract command');
  }

  describe('POST /feature-sets', () => {
    it('answers bad requests with a 400 naming the field, and writes nothing', async () => {
      const before = await commandCount();
      const unknownDataset = '6f1c1a52-0000-4000-8000-00000000ffff';
      const cases: Array<[unknown, RegExp]> = [
        [{ datasetId: unknownDataset, model: 'resnet50' }, /^datasetId: dataset 6f1c1a52-0000-4000-8000-00000000ffff does not exist$/],
        [{ model: 'resnet50' }, /^datasetId: /],
        [{ datasetId: 'not-a-uuid', model: 'resnet50' }, /^datasetId: /],
        [{ datasetId, model: path.join(outside, 'model') }, /^model: path ".*" is outside the data roots/],
        [{ datasetId, model: '../../etc' }, /^model: path "..\/..\/etc" is outside the data roots/],
        [{ datasetId, model: path.join(dataRoot, 'models', 'nope') }, /^model: path ".*" does not exist/],
        [{ datasetId, model: path.join(modelDir, 'model.json') }, /^model: ".*" is not a folder/],
        [{ datasetId, model: '' }, /^model: /],
        [{ datasetId, model: 'resnet50', pooling: 'median' }, /^pooling: /],
        [{ datasetId, model: 'resnet50', dtype: 'float64' }, /^dtype: /],
        [{ datasetId, model: 'resnet50', augment: 'rotate' }, /^augment: Invalid option: expected one of "none"\|"hflip"$/],
        [{ datasetId, model: 'resnet50', augment: true }, /^augment: /],
        [{ datasetId, model: 'resnet50', batchSize: 0 }, /^batchSize: /],
        [{ datasetId, model: 'resnet50', batchSize: 1.5 }, /^batchSize: /],
        [{ datasetId, model: 'resnet50', extra: 1 }, /extra/],
        ['[1]', /JSON object/],
      ];
      for (const [body, message] of cases) {
        const res = await api('POST', '/feature-sets', body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.message).toMatch(message);
      }
      // Both fields wrong: both named.
      const both = await api('POST', '/feature-sets', { datasetId: unknownDataset, model: outside });
      expect(both.body.errors.map((e: { field: string }) => e.field)).toEqual(['datasetId', 'model']);
      expect(await commandCount()).toBe(before);
    });

    it('records a queued features.extract command and publishes it on the bus, a model folder as its real path', async () => {
      const res = await api('POST', '/feature-sets', { datasetId, model: 'models/tiny', pooling: 'max', batchSize: 8 });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ commandId: expect.any(String), type: 'features.extract', status: 'queued' });
      const { commandId } = res.body;

      const expected = { datasetId, model: modelDir, pooling: 'max', dtype: 'float32', engine: 'auto', batchSize: 8 };
      const { rows } = await db.query('SELECT type, status, payload FROM commands WHERE id = $1', [commandId]);
      expect(rows).toEqual([{ type: 'features.extract', status: 'queued', payload: expected }]);

      const stored = await bus.jsm.streams.getMessage(bus.names.streams.commands, { last_by_subj: bus.names.subjects.extractFeatures });
      expect(stored).not.toBeNull();
      expect(stored!.subject).toBe(`${services.namespace}.cmd.features.extract`);
      expect(stored!.header.get('Featx-Message')).toBe('features.extract');
      expect(decodeMessage(stored!.data)).toEqual({ v: 1, id: commandId, ...expected });

      expect((await api('GET', `/commands/${commandId}`)).body).toMatchObject({ id: commandId, type: 'features.extract', status: 'queued' });
    });

    it('takes resnet50 as is, with the defaults filled in', async () => {
      const res = await api('POST', '/feature-sets', { datasetId, model: 'resnet50', layer: 'conv4_block6_out' });
      expect(res.status).toBe(202);
      const stored = await bus.jsm.streams.getMessage(bus.names.streams.commands, { last_by_subj: bus.names.subjects.extractFeatures });
      expect(decodeMessage(stored!.data)).toEqual({ v: 1, id: res.body.commandId, datasetId, model: 'resnet50', layer: 'conv4_block6_out', pooling: 'avg', dtype: 'float32', engine: 'auto', batchSize: 64 });
    });

    it('featx extract --no-wait resolves a model folder against the working directory', async () => {
      const relative = path.relative(process.cwd(), modelDir);
      expect(path.isAbsolute(relative)).toBe(false);
      const queued = await cli('extract', datasetId, '--model', relative, '--dtype', 'float16', '--batch-size', '4', '--no-wait', '--json');
      expect(queued).toMatchObject({ code: 0, err: '' });
      const { commandId } = JSON.parse(queued.out);
      const { rows } = await db.query('SELECT payload FROM commands WHERE id = $1', [commandId]);
      expect(rows[0].payload).toEqual({ datasetId, model: modelDir, pooling: 'avg', dtype: 'float16', engine: 'auto', precision: 'fp32', augment: 'none', batchSize: 4 });

      expect(await cli('extract', datasetId, '--pool', 'median')).toMatchObject({ code: 2 });
      expect(await cli('extract', datasetId, '--augment', 'vflip')).toMatchObject({ code: 2 });
      expect(await cli('extract', datasetId, '--batch-size', '0')).toMatchObject({ code: 2 });
      const outsideModel = await cli('extract', datasetId, '--model', outside);
      expect(outsideModel.code).toBe(1);
      expect(outsideModel.err).toMatch(/400: model: .*outside the data roots/);
    });
  });

  describe('GET /feature-sets', () => {
    it('reports a finished run: percent, this run’s rate, no ETA', async () => {
      const id = await insertSet({
        status: 'complete',
        images: 100,
        stored: 90,
        failed: 10,
        doneAtStart: 20,
        dim: 2048,
        startedAt: "'2025-01-01T00:00:00Z'",
        finishedAt: "'2025-01-01T00:00:35Z'",
      });
      const res = await api('GET', `/feature-sets/${id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id,
        datasetId,
        datasetName: 'food',
        status: 'complete',
        dim: 2048,
        images: 100,
        stored: 90,
        failed: 10,
        startedAt: '2025-01-01T00:00:00.000Z',
        finishedAt: '2025-01-01T00:00:35.000Z',
        progress: { done: 100, total: 100, percent: 100, imagesPerSecond: 2.29, elapsedSeconds: 35, etaSeconds: null },
      });
    });

    it('reports a running set: the rate counts only this run, the ETA follows from it', async () => {
      const id = await insertSet({ images: 1000, stored: 240, failed: 10, doneAtStart: 50, startedAt: "now() - interval '100 seconds'" });
      const { body } = await api('GET', `/feature-sets/${id}`);
      expect(body.status).toBe('running');
      expect(body.progress).toMatchObject({ done: 250, total: 1000, percent: 25 });
      // 200 images this run in ~100 s: ~2 img/s, 750 left: ~375 s.
      expect(body.progress.imagesPerSecond).toBeGreaterThan(1.9);
      expect(body.progress.imagesPerSecond).toBeLessThanOrEqual(2.01);
      expect(body.progress.etaSeconds).toBeGreaterThanOrEqual(373);
      expect(body.progress.etaSeconds).toBeLessThan(395);
    });

    it('has no ETA before this run has done anything, and 100% for an empty complete set', async () => {
      const idle = await insertSet({ images: 10, stored: 4, doneAtStart: 4, startedAt: "now() - interval '10 seconds'" });
      expect((await api('GET', `/feature-sets/${idle}`)).body.progress).toMatchObject({ done: 4, total: 10, percent: 40, imagesPerSecond: 0, etaSeconds: null });
      const empty = await insertSet({ status: 'complete', finishedAt: 'now()' });
      expect((await api('GET', `/feature-sets/${empty}`)).body.progress).toMatchObject({ done: 0, total: 0, percent: 100, etaSeconds: null });
      const failed = await insertSet({ status: 'failed', images: 10, stored: 3, error: 'model folder vanished', startedAt: "now() - interval '3 seconds'" });
      expect((await api('GET', `/feature-sets/${failed}`)).body).toMatchObject({ status: 'failed', error: 'model folder vanished', progress: { percent: 30, etaSeconds: null } });
    });

    it('answers 404 for an unknown set and 400 for a bad id', async () => {
      const unknown = '6f1c1a52-0000-4000-8000-00000000fffe';
      for (const route of ['', '/shards', '/failures', '/vectors']) {
        const res = await api('GET', `/feature-sets/${unknown}${route}`);
        expect(res.status).toBe(404);
        expect(res.body.message).toBe(`feature set ${unknown} not found`);
      }
      const bad = await api('GET', '/feature-sets/nope');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^id: /);
    });

    it('lists sets, optionally of one dataset', async () => {
      const all = (await api('GET', '/feature-sets')).body.items;
      expect(all.length).toBeGreaterThanOrEqual(5);
      expect(all[0]).toHaveProperty('progress.percent');
      expect((await api('GET', `/feature-sets?datasetId=${datasetId}`)).body.items).toHaveLength(all.length);
      expect((await api('GET', '/feature-sets?datasetId=6f1c1a52-0000-4000-8000-00000000ffff')).body).toEqual({ items: [], next: null });
      const bad = await api('GET', '/feature-sets?datasetId=zzz');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^datasetId: /);
    });

    it('lists shards and failures, and the routes are in the OpenAPI document', async () => {
      const id = await insertSet({ images: 4, stored: 2, failed: 1, dim: 2048 });
      await db.query(
        `INSERT INTO feature_shards (feature_set_id, split, index, path, rows, bytes, checksum, status, writer)
         VALUES ($1, 'training', 0, 'fs/training/000000', 2, 16512, 'ab12cd34ef56ab12cd34ef56', 'sealed', 'store-1'),
                ($1, 'evaluation', 0, 'fs/evaluation/000000', 0, 0, NULL, 'open', 'store-1')`,
        [id],
      );
      await db.query("INSERT INTO feature_failures (feature_set_id, image_id, reason) VALUES ($1, $2, 'corrupt JPEG data')", [id, imageIds[0]]);
      const shards = (await api('GET', `/feature-sets/${id}/shards`)).body.items;
      expect(shards.map((s: { split: string; rows: number; status: string }) => [s.split, s.rows, s.status])).toEqual([
        ['evaluation', 0, 'open'],
        ['training', 2, 'sealed'],
      ]);
      expect(shards[1]).toMatchObject({ index: 0, path: 'fs/training/000000', bytes: 16512, checksum: 'ab12cd34ef56ab12cd34ef56' });
      const failures = (await api('GET', `/feature-sets/${id}/failures`)).body;
      expect(failures.next).toBeNull();
      expect(failures.items).toEqual([{ imageId: imageIds[0], path: 'food/evaluation/food/2.jpg', reason: 'corrupt JPEG data', at: expect.any(String) }]);

      const docs = (await (await fetch(`${services.apiUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/feature-sets', '/feature-sets/{id}', '/feature-sets/{id}/shards', '/feature-sets/{id}/failures', '/feature-sets/{id}/vectors']));
    });
  });

  describe('featx features', () => {
    it('show: the set, its progress, shards and failures', async () => {
      const id = await insertSet({ model: 'resnet50', pooling: 'max', dtype: 'float16', images: 4, stored: 2, failed: 1, dim: 2048, startedAt: "now() - interval '30 seconds'" });
      await db.query(
        "INSERT INTO feature_shards (feature_set_id, split, index, path, rows, bytes, checksum, status, writer) VALUES ($1, 'training', 0, 'x/training/000000', 2, 16512, 'ab12cd34ef56ab12cd34', 'sealed', 'store-1')",
        [id],
      );
      await db.query("INSERT INTO feature_failures (feature_set_id, image_id, reason) VALUES ($1, $2, 'unsupported image format')", [id, imageIds[1]]);
      const show = await cli('features', 'show', id);
      expect(show.code).toBe(0);
      expect(show.out).toContain(`feature set ${id} — dataset food (${datasetId})`);
      expect(show.out).toContain('model resnet50, layer (default), pooling max, float16, engine auto, precision fp32, dim 2048');
      expect(show.out).toMatch(/progress: \[█{15}░{5}\] 3\/4 75% · 0\.\d\d img\/s · ETA \d+s · 1 failed/);
      expect(show.out).toMatch(/status running — 2 stored, 1 failed of 4, dim 2048, running for 3\d\.\d s/);
      expect(show.out).toMatch(/│ training\s+│ 0\s+│ 2\s+│ 16\.1 KiB\s+│ sealed\s+│ ab12cd34ef56\s+│ x\/training\/000000\s+│/);
      expect(show.out).toContain(`failures (1):\n  food/evaluation/non_food/3.jpg (image ${imageIds[1]}): unsupported image format`);

      const json = JSON.parse((await cli('features', 'show', id, '--json')).out);
      expect(json).toMatchObject({ id, shards: [{ split: 'training' }], failures: [{ reason: 'unsupported image format' }] });

      const missing = await cli('features', 'show', '6f1c1a52-0000-4000-8000-00000000fffe');
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/404: feature set .* not found/);
    });

    it('ls: a table of the sets', async () => {
      const ls = await cli('features', 'ls', '--dataset', datasetId);
      expect(ls.code).toBe(0);
      expect(ls.out).toMatch(/│ resnet50\s+│ \(default\)\s+│ max\s+│ float16\s+│ auto\s+│ fp32\s+│ 2048\s+│ running\s+│ 3\/4 \(75%\)\s+│ 1\s+│/);
      const none = await cli('features', 'ls', '--dataset', '6f1c1a52-0000-4000-8000-00000000ffff');
      expect(none.out).toMatch(/no feature sets yet/);
    });
  });

  describe('featx extract, following the set to the end', () => {
    it('waits for the command, shows progress, prints the summary and failures, exits 0 when complete', async () => {
      const running = cli('extract', datasetId, '--model', 'resnet50', '--layer', 'conv3_block4_out');
      const command = await waitForQueued((p) => p.layer === 'conv3_block4_out');
      expect(command.payload).toEqual({ datasetId, model: 'resnet50', layer: 'conv3_block4_out', pooling: 'avg', dtype: 'float32', engine: 'auto', precision: 'fp32', augment: 'none', batchSize: 64 });

      // The feature-store's part: start the set, finish the command, store, complete.
      const id = await insertSet({ model: 'resnet50', layer: 'conv3_block4_out', images: 4, stored: 1, doneAtStart: 1, startedAt: "now() - interval '1 second'" });
      await db.query("UPDATE commands SET status = 'succeeded', result = $2, finished_at = now() WHERE id = $1", [command.id, { featureSetId: id, images: 4, pending: 3, workItems: 1 }]);
      await new Promise((r) => setTimeout(r, 800));
      await db.query('UPDATE feature_sets SET stored = 2, dim = 1024 WHERE id = $1', [id]);
      await new Promise((r) => setTimeout(r, 800));
      await db.query("INSERT INTO feature_failures (feature_set_id, image_id, reason) VALUES ($1, $2, 'truncated file')", [id, imageIds[2]]);
      await db.query("UPDATE feature_sets SET stored = 3, failed = 1, status = 'complete', finished_at = started_at + interval '4 seconds' WHERE id = $1", [id]);

      const result = await running;
      expect(result.code).toBe(0);
      expect(result.out).toContain(`feature set ${id}: 4 images, 3 to extract in 1 work item (resuming: 1 already done)`);
      expect(result.out).toContain('complete: 3 stored, 1 failed of 4, dim 1024, in 4.0 s (0.75 img/s), 1 done before this run');
      expect(result.out).toContain(`failures (1):\n  food/training/food/0.jpg (image ${imageIds[2]}): truncated file`);
      // Not a TTY: a first progress line at once, then (< 5 s later) only the final one.
      const lines = result.err.split('\n');
      expect(lines[0]).toMatch(/^\[█{7}░{23}\] 1\/4 25% · /);
      expect(lines[lines.length - 1]).toBe('[██████████████████████████████] 4/4 100% · 0.75 img/s · ETA 0s · 1 failed');
      expect(lines).toHaveLength(2);
    });

    it('exits 1 with the reason when the set fails, or the command does', async () => {
      const failing = cli('extract', datasetId, '--model', 'resnet50', '--pool', 'none', '--json');
      const command = await waitForQueued((p) => p.pooling === 'none');
      const id = await insertSet({ model: 'resnet50', pooling: 'none', images: 4, status: 'failed', error: 'the model cannot be loaded', finishedAt: 'now()' });
      await db.query("UPDATE commands SET status = 'succeeded', result = $2 WHERE id = $1", [command.id, { featureSetId: id, images: 4, pending: 4, workItems: 1 }]);
      const failed = await failing;
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.out)).toMatchObject({ featureSet: { id, status: 'failed' }, result: { featureSetId: id } });
      expect(failed.err).toMatch(new RegExp(`featx: feature set ${id} failed: the model cannot be loaded`));

      const refused = cli('extract', datasetId, '--model', 'resnet50', '--dtype', 'float16', '--layer', 'x');
      const second = await waitForQueued((p) => p.layer === 'x');
      await db.query("UPDATE commands SET status = 'failed', error = 'dataset has no images' WHERE id = $1", [second.id]);
      const result = await refused;
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/featx: extraction failed: dataset has no images/);
    });
  });

  describe('renderProgressBar', () => {
    it('draws the bar, count, percent, rate, ETA and failures', () => {
      expect(renderProgressBar({ done: 1234, total: 3781, rate: 45.2, etaSeconds: 56, failed: 0, width: 10 })).toBe('[███░░░░░░░] 1234/3781 33% · 45.2 img/s · ETA 56s · 0 failed');
      expect(renderProgressBar({ done: 0, total: 3781, rate: null, etaSeconds: null, failed: 0, width: 10 })).toBe('[░░░░░░░░░░] 0/3781 0% · -- img/s · ETA -- · 0 failed');
      expect(renderProgressBar({ done: 3781, total: 3781, rate: 123.456, etaSeconds: null, failed: 2, width: 10 })).toBe('[██████████] 3781/3781 100% · 123 img/s · ETA 0s · 2 failed');
    });

    it('never shows a full bar or 100% before the end, nor more than the total', () => {
      expect(renderProgressBar({ done: 3780, total: 3781, rate: 0.5, etaSeconds: 2, failed: 0, width: 10 })).toBe('[█████████░] 3780/3781 99% · 0.50 img/s · ETA 2s · 0 failed');
      expect(renderProgressBar({ done: 12, total: 10, width: 4 })).toBe('[████] 10/10 100% · -- img/s · ETA 0s');
      expect(renderProgressBar({ done: 0, total: 0, width: 4 })).toBe('[░░░░] 0/0 0% · -- img/s · ETA --');
    });

    it('formats long ETAs, other units, and defaults to 30 cells', () => {
      expect(renderProgressBar({ done: 1, total: 2, rate: 3, etaSeconds: 4000, unit: 'batch' })).toBe(`[${'█'.repeat(15)}${'░'.repeat(15)}] 1/2 50% · 3.0 batch/s · ETA 1h 06m`);
      expect([59, 60, 245, 3599, 3600, 90061, 0.2].map(formatEta)).toEqual(['59s', '1m 00s', '4m 05s', '59m 59s', '1h 00m', '1d 01h', '1s']);
    });
  });

  describe('LiveLine', () => {
    it('redraws in place on a TTY, cut to the terminal width, and ends the line when finished', () => {
      const written: string[] = [];
      const line = new LiveLine({ stream: { isTTY: true, columns: 12, write: (t: string) => written.push(t) > 0 } });
      line.update('short');
      line.update('a line much longer than twelve');
      line.finish('done');
      expect(written).toEqual(['\rshort\x1b[K', '\ra line much\x1b[K', '\rdone\x1b[K\n']);
    });

    it('prints a line at most every interval elsewhere, and the final state once', () => {
      const printed: string[] = [];
      let now = 0;
      const line = new LiveLine({ stream: { isTTY: false, write: () => true }, printLine: (t) => printed.push(t), intervalMs: 5000, now: () => now });
      for (const [t, text] of [[0, 'a'], [1000, 'b'], [4999, 'c'], [5000, 'd'], [7000, 'e']] as const) {
        now = t;
        line.update(text);
      }
      line.finish();
      expect(printed).toEqual(['a', 'd', 'e']);
      const again = new LiveLine({ stream: { isTTY: false, write: () => true }, printLine: (t) => printed.push(t) });
      again.update('x');
      again.finish('x');
      expect(printed).toEqual(['a', 'd', 'e', 'x']);
    });
  });
});
