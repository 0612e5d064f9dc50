import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Client } from 'pg';
import { readNpy, shardDir, shardPath, ShardWriter } from '@featx/features';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonLogger } from '@featx/runtime';
import { NoAnswerError } from '@featx/bus';
import { startTestServices, TestServices, TEST_API_TOKEN, runTestCli } from './support/test-services';
import { ApiClient } from '../apps/cli/src/api-client';
import { FeatureSetExporter } from '../apps/api/src/feature-sets/feature-export.service';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy) console.warn("features export e2e: numpy checks skipped, python3 -c 'import numpy' failed");

const DIM = 5;
const IMAGES = { training: 3, validation: 1, evaluation: 1 } as const; // per class
const CLASSES = ['food', 'non_food'];

/** The vector stored for an image: exact in float32, so CSV text and NumPy values are predictable. */
function vectorOf(imageId: number): number[] {
  return Array.from({ length: DIM }, (_, j) => (imageId % 13) + j * 0.25 - 2);
}

interface Image {
  id: number;
  split: 'training' | 'validation' | 'evaluation';
  label: string;
}

/**
 * `GET /feature-sets/:id/export` and `featx features export`, on shards made here as the
 * feature-store makes them (ShardWriter files in each store's FEATX_FEATURES_DIR, feature_sets /
 * feature_shards / feature_vectors rows in Postgres), for a dataset of real images registered
 * through the CLI. Two feature stores (store-a, store-b), each with a features dir of its own,
 * serve the rows over the bus; the API's features dir holds no shard at all. The extractor is
 * not running.
 */
describe('exporting feature sets (API, CLI)', () => {
  let dataRoot: string;
  /** The features dir of each store; the API's is another, empty one. */
  let storeDirs: Record<string, string>;
  let apiFeaturesDir: string;
  let outRoot: string;
  let services: TestServices;
  let db: Client;
  let datasetId: string;
  let setId: string;
  let images: Image[];
  /** What the export of each split must hold, in order. */
  const expected: Record<string, Image[]> = {};

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-export-data-')));
    storeDirs = { 'store-a': path.join(dataRoot, 'features-a'), 'store-b': path.join(dataRoot, 'features-b') };
    apiFeaturesDir = path.join(dataRoot, 'features-api');
    await fs.mkdir(apiFeaturesDir);
    outRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-export-out-')));
    let seed = 0;
    for (const [split, count] of Object.entries(IMAGES)) {
      for (const label of CLASSES) {
        for (let i = 0; i < count; i++) {
          const file = path.join(dataRoot, 'food', split, label, `${seed}.jpg`);
          await fs.mkdir(path.dirname(file), { recursive: true });
          await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: (seed * 20) % 255, g: 10, b: 20 } } }).jpeg().toFile(file);
          seed++;
        }
      }
    }
    services = await startTestServices({
      dataRoots: `data=${dataRoot}`,
      env: { FEATX_FEATURES_DIR: apiFeaturesDir, FEATX_STORE_READ_TIMEOUT_MS: '2000', FEATX_EXPORT_STORE_WAIT_MS: '1000' },
      workers: ['ingest', ...Object.entries(storeDirs).map(([id, dir]) => ({ service: 'feature-store' as const, env: { FEATX_STORE_ID: id, FEATX_FEATURES_DIR: dir } }))],
    });
    expect(services.config.features.dir).toBe(apiFeaturesDir);
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    const added = await cli('datasets', 'add', path.join(dataRoot, 'food'), '--json');
    expect(added.code).toBe(0);
    datasetId = JSON.parse(added.out).dataset.id;
    images = (await db.query('SELECT id, split, label FROM images WHERE dataset_id = $1 ORDER BY path', [datasetId])).rows.map((r) => ({ ...r, id: Number(r.id) }));
    expect(images).toHaveLength(10);

    setId = await insertSet('float32');
    const training = images.filter((i) => i.split === 'training');
    const evaluation = images.filter((i) => i.split === 'evaluation');
    // Writer A's training shard holds 4 rows on disk but committed only 3 (the 4th, a crash's
    // leftover, was stored again by writer B); writer B's shard follows it in index order.
    await addShard(setId, 'training', 0, 'store-a', training.slice(0, 4), 3);
    await addShard(setId, 'training', 1, 'store-b', training.slice(3), 3);
    await addShard(setId, 'evaluation', 0, 'store-a', evaluation, 2);
    expected.training = training;
    expected.evaluation = evaluation;
  }, 60000);

  afterAll(async () => {
    await db?.end();
    await services?.close();
    if (dataRoot) await fs.rm(dataRoot, { recursive: true, force: true });
    if (outRoot) await fs.rm(outRoot, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);

  async function get(route: string) {
    const response = await fetch(`${services.apiUrl}${route}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body.toString('utf8')) };
  }

  async function insertSet(dtype: 'float16' | 'float32', model = `model-${dtype}`): Promise<string> {
    const { rows } = await db.query(
      `INSERT INTO feature_sets (dataset_id, model, pooling, dtype, dim, spec, status, images, stored, finished_at)
       VALUES ($1, $2, 'avg', $3, $4, '{}'::jsonb, 'complete', 10, 8, now()) RETURNING id`,
      [datasetId, model, dtype, DIM],
    );
    return rows[0].id;
  }

  /** Writes `onDisk` rows into a shard and records the first `committed` as the feature-store does. */
  async function addShard(featureSetId: string, split: string, index: number, writer: string, onDisk: Image[], committed: number, dtype: 'float16' | 'float32' = 'float32') {
    const relative = shardPath({ featureSetId, split, storeId: writer, index });
    const shard = await ShardWriter.open(shardDir(storeDirs[writer]!, relative), { dim: DIM, dtype });
    if (onDisk.length > 0) {
      await shard.append({
        features: Float32Array.from(onDisk.flatMap((image) => vectorOf(image.id))),
        labels: onDisk.map((image) => CLASSES.indexOf(image.label)),
        imageIds: onDisk.map((image) => image.id),
      });
    }
    const sealed = await shard.seal();
    const { rows } = await db.query(
      `INSERT INTO feature_shards (feature_set_id, split, index, path, rows, bytes, status, writer) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id`,
      [featureSetId, split, index, relative, committed, sealed.bytes, writer],
    );
    for (const [row, image] of onDisk.slice(0, committed).entries()) {
      await db.query('INSERT INTO feature_vectors (feature_set_id, image_id, shard_id, row) VALUES ($1, $2, $3, $4)', [featureSetId, image.id, rows[0].id, row]);
    }
    return { id: rows[0].id as string, relative };
  }

  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const csvOf = (list: Image[]) => list.map((image) => `${CLASSES.indexOf(image.label)},${vectorOf(image.id).join(',')}\n`).join('');

  describe('GET /feature-sets/:id/export', () => {
    it('streams a split as the tutorial\'s CSV: label,v1,...,vD per committed row, in shard order', async () => {
      const res = await get(`/feature-sets/${setId}/export?format=csv&split=training`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="featx-${setId.slice(0, 8)}-training.csv"`);
      expect(res.headers.get('x-featx-rows')).toBe('6');
      expect(res.headers.get('x-featx-snapshot')).toBe('3*2');
      expect(res.body.toString('utf8')).toBe(csvOf(expected.training!));
    });

    it('streams one array of a split as a single .npy with its length known', async () => {
      const res = await get(`/feature-sets/${setId}/export?format=npy&split=evaluation&array=image_ids`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="featx-${setId.slice(0, 8)}-evaluation-image_ids.npy"`);
      expect(Number(res.headers.get('content-length'))).toBe(res.body.length);
      const file = path.join(outRoot, 'ids.npy');
      await fs.writeFile(file, res.body);
      expect(await readNpy(file)).toMatchObject({ dtype: '<i8', shape: [2], data: BigInt64Array.from(expected.evaluation!.map((i) => BigInt(i.id))) });
      // features by default
      const features = await get(`/feature-sets/${setId}/export?format=npy&split=evaluation`);
      expect(features.headers.get('content-disposition')).toMatch(/-evaluation-features\.npy"$/);
      expect(features.body.length).toBe(128 + 2 * DIM * 4);
    });

    it('answers a bad query with a 400 naming the field, an unknown set with a 404, a split without rows with a 409', async () => {
      const route = `/feature-sets/${setId}/export`;
      const cases: Array<[string, RegExp]> = [
        [`${route}?split=training`, /^format: required, one of csv, npy$/],
        [`${route}?format=xls&split=training`, /^format: "xls" is not one of csv, npy$/],
        [`${route}?format=csv`, /^split: required, one of training, validation, evaluation$/],
        [`${route}?format=csv&split=train`, /^split: "train" is not one of/],
        [`${route}?format=csv&split=training&split=evaluation`, /^split: /],
        [`${route}?format=csv&split=training&array=labels`, /^array: only for format=npy$/],
        [`${route}?format=npy&split=training&array=vectors`, /^array: "vectors" is not one of features, labels, image_ids$/],
        [`${route}?format=npy&split=training&snapshot=abc`, /^snapshot: not a snapshot/],
        [`${route}?format=npy&split=training&snapshot=3*3`, /^snapshot: names more shards than the split's 2$/],
        [`${route}?format=npy&split=training&snapshot=3,4`, /^snapshot: names 4 rows of shard 1, which has 3 committed$/],
        ['/feature-sets/nope/export?format=csv&split=training', /^id: /],
      ];
      for (const [url, message] of cases) {
        const res = await get(url);
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        expect(res.json().message).toMatch(message);
      }
      const both = await get(`${route}?format=pdf`);
      expect(both.json().errors.map((e: { field: string }) => e.field)).toEqual(['format', 'split']);

      const unknown = '6f1c1a52-0000-4000-8000-00000000fffe';
      const missing = await get(`/feature-sets/${unknown}/export?format=csv&split=training`);
      expect(missing.status).toBe(404);
      expect(missing.json().message).toBe(`feature set ${unknown} not found`);

      const noShards = await get(`${route}?format=npy&split=validation`);
      expect(noShards.status).toBe(409);
      expect(noShards.json().message).toBe(`feature set ${setId} has no shards for split validation yet`);
      // A shard just opened, with nothing committed (and no files yet), is no row to export either.
      await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, writer) VALUES ($1, 'validation', 0, $2, 'store-c')", [setId, `${setId}/validation/000000-store-c`]);
      const empty = await get(`${route}?format=csv&split=validation`);
      expect(empty.status).toBe(409);
      expect(empty.json().message).toBe(`feature set ${setId} has no committed rows for split validation yet`);
    });

    it('answers 500 naming the shard file, relative to the store, when a shard lacks committed rows', async () => {
      const broken = await insertSet('float32', 'broken');
      const shard = await addShard(broken, 'training', 0, 'store-a', images.slice(0, 2), 2);
      await db.query('UPDATE feature_shards SET rows = 5 WHERE id = $1', [shard.id]);
      const logged: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((text) => logged.push(String(text)) > 0);
      const res = await get(`/feature-sets/${broken}/export?format=npy&split=training&array=labels`).finally(() => spy.mockRestore());
      expect(logged.join('')).toMatch(/"level":"error".*cannot be exported/);
      expect(res.status).toBe(500);
      expect(res.json().message).toMatch(
        new RegExp(`^feature set ${broken}: the training shards cannot be exported: feature store "store-a": shard ${shard.id}: ${escape(shard.relative)} holds 2 rows, fewer than the 5 asked for$`),
      );
      expect(res.json().message).not.toContain(storeDirs['store-a']);
    });

    it('answers 503 naming the stores and shards when a store holding the split is down, unregistered or silent', async () => {
      const elsewhere = await insertSet('float32', 'elsewhere');
      // store-z recorded itself a minute ago with a 1 s heartbeat: down. store-q never registered.
      // store-s claims to be up (seen now, hourly heartbeat) but no process answers for it.
      await db.query(
        `INSERT INTO feature_stores (id, host, version, heartbeat_ms, last_seen_at) VALUES
         ('store-z', 'host-z', '0.1.0', 1000, now() - interval '1 minute'), ('store-s', 'host-s', '0.1.0', 3600000, now())`,
      );
      const insertShard = async (split: string, index: number, writer: string, rows: number) =>
        (
          await db.query(`INSERT INTO feature_shards (feature_set_id, split, index, path, rows, writer) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, [
            elsewhere,
            split,
            index,
            `${elsewhere}/${split}/${writer}-${index}`,
            rows,
            writer,
          ])
        ).rows[0].id as string;
      const z0 = await insertShard('training', 0, 'store-z', 3);
      const z1 = await insertShard('training', 1, 'store-z', 2);
      const q2 = await insertShard('training', 2, 'store-q', 1);
      const s0 = await insertShard('evaluation', 0, 'store-s', 4);
      const down = await get(`/feature-sets/${elsewhere}/export?format=csv&split=training`);
      expect(down.status).toBe(503);
      expect(down.json().message).toMatch(
        new RegExp(
          `^feature set ${elsewhere}: the training shards cannot be exported now: ` +
            `feature store "store-z" \\(down, last seen \\d{4}-[^)]+\\) holds training shards 0 \\(${z0}\\), 1 \\(${z1}\\); ` +
            `feature store "store-q" \\(unregistered\\) holds training shard 2 \\(${q2}\\); try again once they are back$`,
        ),
      );
      const silent = await get(`/feature-sets/${elsewhere}/export?format=npy&split=evaluation`);
      expect(silent.status).toBe(503);
      expect(silent.json().message).toMatch(new RegExp(`feature store "store-s" \\(not answering, last seen [^)]+\\) holds evaluation shard 0 \\(${s0}\\); try again once it is back$`));
      const cli503 = await cli('features', 'export', elsewhere, '--format', 'csv', '--split', 'training', '--out', path.join(outRoot, 'down'));
      expect(cli503.code).toBe(1);
      expect(cli503.err).toMatch(/503: .*feature store "store-z" \(down/);
      await db.query("DELETE FROM feature_stores WHERE id IN ('store-z', 'store-s')");
    });

    it('reads no shard from the API\'s features dir: it holds none, the stores\' dirs hold them all', async () => {
      expect(await fs.readdir(apiFeaturesDir)).toEqual([]);
      expect((await fs.readdir(storeDirs['store-a']!)).length).toBeGreaterThan(0);
      expect((await fs.readdir(storeDirs['store-b']!)).length).toBeGreaterThan(0);
    });

    it('featx features show lists the shards by store with its state; featx stores ls lists the stores', async () => {
      const details = await get(`/feature-sets/${setId}`);
      const byStore = Object.fromEntries(details.json().stores.map((s: { store: string }) => [s.store, s]));
      expect(byStore['store-a']).toMatchObject({ state: 'up', host: expect.any(String), rows: 5 });
      expect(byStore['store-a'].shards).toEqual(expect.arrayContaining([expect.objectContaining({ split: 'training', index: 0, rows: 3 }), expect.objectContaining({ split: 'evaluation', index: 0, rows: 2 })]));
      expect(byStore['store-b']).toMatchObject({ state: 'up', rows: 3, shards: [expect.objectContaining({ split: 'training', index: 1, rows: 3 })] });
      const show = await cli('features', 'show', setId);
      expect(show.code).toBe(0);
      expect(show.out).toMatch(/^store store-a: up \(host [^,]+, last seen \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\) — 2 shards, 5 rows$/m);
      expect(show.out).toMatch(/^store store-b: up \(host [^,]+, last seen [^)]+\) — 1 shard, 3 rows$/m);
      const stores = await cli('stores', 'ls');
      expect(stores.code).toBe(0);
      expect(stores.out).toMatch(/│ store-a\s+│ up\s+│ \S+\s+│ \d{4}-[^│]+│ \d+\s+│ [\d,]+\s+│ 0\.1\.0\s+│/);
      const listed = (await get('/feature-stores')).json();
      expect(listed.find((s: { id: string }) => s.id === 'store-b')).toMatchObject({ state: 'up', heartbeatMs: 5000, shards: 1, rows: 3 });
    });

    it('is in the OpenAPI document', async () => {
      const docs = (await (await fetch(`${services.apiUrl}/docs/json`)).json()) as { paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> };
      expect(docs.paths['/feature-sets/{id}/export']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['id', 'format', 'split', 'array', 'snapshot']));
    });
  });

  describe('featx features export', () => {
    it('--format csv writes <split>.csv for each split with rows, and classes.txt', async () => {
      const out = path.join(outRoot, 'csv');
      const run = await cli('features', 'export', setId, '--format', 'csv', '--out', out);
      expect(run.err).toBe('');
      expect(run.code).toBe(0);
      expect((await fs.readdir(out)).sort()).toEqual(['classes.txt', 'evaluation.csv', 'training.csv']);
      const training = await fs.readFile(path.join(out, 'training.csv'), 'utf8');
      expect(training).toBe(csvOf(expected.training!));
      expect(training.split('\n')[0]).toMatch(/^[01](,-?\d+(\.\d+)?){5}$/);
      expect(await fs.readFile(path.join(out, 'evaluation.csv'), 'utf8')).toBe(csvOf(expected.evaluation!));
      expect(await fs.readFile(path.join(out, 'classes.txt'), 'utf8')).toBe('food\nnon_food\n');
      expect(run.out).toContain(`exported feature set ${setId} (csv) to ${out}: 8 rows in training, evaluation`);
      const size = (await fs.stat(path.join(out, 'training.csv'))).size;
      expect(run.out).toMatch(new RegExp(`│ training\\.csv\\s+│ 6\\s+│ ${size}\\s+│`));
      expect(run.out).toMatch(/│ classes\.txt\s+│ 2\s+│ 14\s+│/);
    });

    it('--format npy writes <split>/features.npy, labels.npy, image_ids.npy that numpy maps', async () => {
      const out = path.join(outRoot, 'npy');
      const run = await cli('features', 'export', setId, '--format', 'npy', '--out', out, '--json');
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.out);
      expect(summary.files.map((f: { file: string; rows: number }) => [f.file, f.rows])).toEqual([
        ['training/features.npy', 6],
        ['training/labels.npy', 6],
        ['training/image_ids.npy', 6],
        ['evaluation/features.npy', 2],
        ['evaluation/labels.npy', 2],
        ['evaluation/image_ids.npy', 2],
        ['classes.txt', 2],
      ]);
      for (const f of summary.files) expect((await fs.stat(path.join(out, f.file))).size).toBe(f.bytes);
      for (const split of ['training', 'evaluation']) {
        const want = expected[split]!;
        const features = await readNpy(path.join(out, split, 'features.npy'));
        expect(features).toMatchObject({ dtype: '<f4', shape: [want.length, DIM] });
        expect(Array.from(features.data as Float32Array)).toEqual(want.flatMap((i) => vectorOf(i.id)));
        expect(Array.from((await readNpy(path.join(out, split, 'labels.npy'))).data as Int32Array)).toEqual(want.map((i) => CLASSES.indexOf(i.label)));
      }
      expect(await fs.readdir(out)).not.toContain('validation');
      if (!hasNumpy) return;
      const script = [
        'import json, sys, numpy as np',
        'out = {}',
        'for split in sys.argv[2:]:',
        "    f, l, i = (np.load(f'{sys.argv[1]}/{split}/{name}.npy', mmap_mode='r') for name in ('features', 'labels', 'image_ids'))",
        "    out[split] = {'memmap': all(isinstance(a, np.memmap) for a in (f, l, i)), 'shape': [list(f.shape), list(l.shape), list(i.shape)], 'dtype': [f.dtype.str, l.dtype.str, i.dtype.str], 'features': f.tolist(), 'labels': l.tolist(), 'ids': i.tolist()}",
        'print(json.dumps(out))',
      ].join('\n');
      const fromNumpy = JSON.parse(execFileSync('python3', ['-c', script, out, 'training', 'evaluation'], { encoding: 'utf8' }));
      for (const split of ['training', 'evaluation']) {
        const want = expected[split]!;
        expect(fromNumpy[split]).toEqual({
          memmap: true,
          shape: [[want.length, DIM], [want.length], [want.length]],
          dtype: ['<f4', '<i4', '<i8'],
          features: want.map((i) => vectorOf(i.id)),
          labels: want.map((i) => CLASSES.indexOf(i.label)),
          ids: want.map((i) => i.id),
        });
      }
    });

    it('exports float16 sets as stored, and one split into ./featx-export-<id> by default', async () => {
      const half = await insertSet('float16');
      await addShard(half, 'evaluation', 0, 'store-a', expected.evaluation!, 2, 'float16');
      const cwd = process.cwd();
      process.chdir(outRoot);
      let run;
      try {
        run = await cli('features', 'export', half, '--format', 'npy', '--split', 'evaluation');
      } finally {
        process.chdir(cwd);
      }
      expect(run.code).toBe(0);
      const out = path.join(outRoot, `featx-export-${half.slice(0, 8)}`);
      expect((await fs.readdir(out)).sort()).toEqual(['classes.txt', 'evaluation']);
      const features = await readNpy(path.join(out, 'evaluation', 'features.npy'));
      expect(features).toMatchObject({ dtype: '<f2', shape: [2, DIM] });
      const csv = await cli('features', 'export', half, '--format', 'csv', '--split', 'evaluation', '--out', out);
      expect(await fs.readFile(path.join(out, 'evaluation.csv'), 'utf8')).toBe(csvOf(expected.evaluation!)); // exact in half precision too
      expect(csv.code).toBe(0);
    });

    it('refuses bad options (exit 2) and reports API refusals (exit 1)', async () => {
      expect((await cli('features', 'export', setId)).code).toBe(2);
      expect((await cli('features', 'export', setId, '--format', 'xls')).code).toBe(2);
      expect((await cli('features', 'export', setId, '--format', 'csv', '--split', 'train')).code).toBe(2);
      const noRows = await cli('features', 'export', setId, '--format', 'csv', '--split', 'validation', '--out', path.join(outRoot, 'none'));
      expect(noRows.code).toBe(1);
      expect(noRows.err).toMatch(/409: feature set .* has no committed rows for split validation yet/);
      expect(await fs.readdir(path.join(outRoot, 'none'))).toEqual([]);
      const unknown = await cli('features', 'export', '6f1c1a52-0000-4000-8000-00000000fffe', '--format', 'csv');
      expect(unknown.code).toBe(1);
      expect(unknown.err).toMatch(/404: feature set .* not found/);
      const empty = await insertSet('float32', 'empty');
      const nothing = await cli('features', 'export', empty, '--format', 'csv');
      expect(nothing.code).toBe(1);
      expect(nothing.err).toMatch(/has no stored rows yet \(status complete\); nothing to export/);
    });

    it('keeps the arrays of a split in line while rows are committed between downloads (snapshot)', async () => {
      const first = await get(`/feature-sets/${setId}/export?format=npy&split=training&array=features`);
      const snapshot = first.headers.get('x-featx-snapshot')!;
      expect(snapshot).toBe('3*2');
      // The feature store commits writer A's 4th row meanwhile.
      const { rows } = await db.query("SELECT id FROM feature_shards WHERE feature_set_id = $1 AND split = 'training' AND index = 0", [setId]);
      await db.query('UPDATE feature_shards SET rows = 4 WHERE id = $1', [rows[0].id]);
      const later = await get(`/feature-sets/${setId}/export?format=npy&split=training&array=labels`);
      expect(later.headers.get('x-featx-rows')).toBe('7');
      expect(later.headers.get('x-featx-snapshot')).toBe('4,3');
      const same = await get(`/feature-sets/${setId}/export?format=npy&split=training&array=labels&snapshot=${encodeURIComponent(snapshot)}`);
      expect(same.headers.get('x-featx-rows')).toBe('6');
      expect(same.headers.get('x-featx-snapshot')).toBe('3*2');
      const file = path.join(outRoot, 'snapshot-labels.npy');
      await fs.writeFile(file, same.body);
      expect(Array.from((await readNpy(file)).data as Int32Array)).toEqual(expected.training!.map((i) => CLASSES.indexOf(i.label)));
      await db.query('UPDATE feature_shards SET rows = 3 WHERE id = $1', [rows[0].id]);
    });
  });

  describe('a failure once the body has started', () => {
    let server: Server;
    let url: string;
    let failAfter: (kind: 'csv' | 'npy') => AsyncGenerator<Buffer>;

    beforeAll(async () => {
      const exporter = new FeatureSetExporter(undefined as never, undefined as never, undefined as never, { readTimeoutMs: 1000, storeWaitMs: 0 }, new JsonLogger('api', 'error').child('test'));
      failAfter = async function* () {
        yield Buffer.alloc(64 * 1024, 0x31);
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('disk gone');
      };
      server = createServer((req, res) => {
        const kind = req.url === '/npy' ? 'npy' : 'csv';
        void exporter.send(res, { contentType: 'text/csv', filename: `x.${kind}`, rows: 10, snapshot: '10', bytes: kind === 'npy' ? 1 << 20 : undefined, body: failAfter(kind) });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it.each(['csv', 'npy'])('cuts the %s transfer when a store stops answering mid-stream for longer than the export waits', async (kind) => {
      // A store that answers the export's probe and its first reply, then nothing: the export
      // waits FEATX_EXPORT_STORE_WAIT_MS (here 300 ms) asking again, then cuts the download.
      const shard = { id: '6f1c1a52-0000-4000-8000-000000000001', split: 'training', augment: 'none', index: 0, path: 'x/training/store-x-00000', rows: 400, writer: 'store-x', status: 'sealed' };
      const set = { id: '6f1c1a52-0000-4000-8000-0000000000aa', dim: DIM, dtype: 'float32' };
      let replies = 0;
      const asked: number[] = [];
      const bus = {
        maxPayload: 20_000, // 69 rows a reply
        async request(_contract: unknown, message: { start: number; count: number }) {
          asked.push(message.start);
          if (replies++ >= 2) throw new NoAnswerError('no answer to features.read: 503');
          const features = new Float32Array(message.count * DIM).fill(0.5);
          return { v: 2, dtype: 'float32', start: message.start, rows: message.count, dim: DIM, features: new Uint8Array(features.buffer), labels: new Array(message.count).fill(1), imageIds: Array.from({ length: message.count }, (_, i) => message.start + i) };
        },
      };
      const logged: string[] = [];
      const logger = new JsonLogger('api', 'warn').child('test');
      const exporter = new FeatureSetExporter(
        { get: async () => set, shards: async () => [shard] } as never,
        { statuses: async () => new Map([['store-x', { store: 'store-x', state: 'up', host: 'h', lastSeenAt: new Date().toISOString() }]]) },
        bus as never,
        { readTimeoutMs: 100, storeWaitMs: 300, readAheadBytes: 1 },
        logger,
      );
      const exported = await exporter.prepare(set.id, { format: kind as 'csv' | 'npy', split: 'training' });
      const local = createServer((_req, res) => void exporter.send(res, exported));
      await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((text) => logged.push(String(text)) > 0);
      try {
        const file = path.join(outRoot, `stalled.${kind}`);
        await expect(new ApiClient({ url: `http://127.0.0.1:${(local.address() as AddressInfo).port}` }).download('/', file)).rejects.toThrow(/broke off while writing/);
        await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      } finally {
        spy.mockRestore();
        await new Promise<void>((resolve) => local.close(() => resolve()));
      }
      // The probe (row 399), the first reply (rows 0-68), then rows 69.. asked again and again until the limit.
      expect(asked.slice(0, 3)).toEqual([399, 0, 69]);
      expect(asked.slice(2).every((start) => start === 69)).toBe(true);
      expect(asked.length).toBeGreaterThan(3);
      expect(logged.join('')).toMatch(/waits for feature store \\"store-x\\"/);
      expect(logged.join('')).toMatch(/failed after it started: feature store \\"store-x\\" has not answered for 0 s/);
    });

    it.each(['csv', 'npy'])('cuts the %s transfer, so the CLI keeps no file that looks complete', async (kind) => {
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true); // the exporter logs the failure
      try {
        const file = path.join(outRoot, `broken.${kind}`);
        await expect(new ApiClient({ url }).download(`/${kind}`, file)).rejects.toThrow(/broke off while writing/);
        await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(fs.stat(`${file}.part`)).rejects.toMatchObject({ code: 'ENOENT' });
      } finally {
        spy.mockRestore();
      }
    });
  });
});
