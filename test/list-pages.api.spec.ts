import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { callTestApi, runTestCli, startTestServices, TestServices } from './support/test-services';

/**
 * Every list of the admin API in keyset pages against real Postgres: a few thousand rows walked
 * page by page come back each exactly once, in the list's order, with rows sharing a timestamp
 * (inserted by one statement) ordered by id; a bad limit or cursor is a 400 naming it. The CLI's
 * listings print one page and how to ask for the next.
 */
describe('list pages (API, CLI)', () => {
  let dataRoot: string;
  let services: TestServices;
  let db: Client;
  let datasetId: string;
  let featureSetId: string;
  let imageIds: number[];

  const IMAGES = 3000;
  const VECTORS = 2500;
  const COMMANDS = 1200;
  const REJECTED = 1100;
  const RUNS = 30;
  const DATASETS = 12;

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-pages-')));
    services = await startTestServices({ dataRoots: `data=${dataRoot}`, workers: [] });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    // Datasets one statement each (created_at apart), the images, vectors and failures of the first.
    const datasetIds: string[] = [];
    for (let d = 0; d < DATASETS; d++) {
      const { rows } = await db.query("INSERT INTO datasets (name, root, path, layout, status) VALUES ($1, 'data', $1, 'split-class', 'ready') RETURNING id", [`set-${d}`]);
      datasetIds.push(rows[0].id);
    }
    datasetId = datasetIds[0];
    imageIds = (
      await db.query(
        "INSERT INTO images (dataset_id, split, label, path, bytes, sha256, mtime_ms) SELECT $1, 'training', 'c' || (i % 3), 'set-0/training/' || i || '.jpg', i, repeat('0', 64), 0 FROM generate_series(1, $2) AS i RETURNING id",
        [datasetId, IMAGES],
      )
    ).rows.map((r) => Number(r.id));
    featureSetId = (await db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, images) VALUES ($1, 'm', 'avg', 'float16', '{}', $2) RETURNING id", [datasetId, IMAGES])).rows[0].id;
    const shards: string[] = [];
    for (const [split, count] of [['training', 2], ['validation', 1], ['evaluation', 1]] as const) {
      for (let index = 0; index < count; index++) {
        const { rows } = await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, writer) VALUES ($1, $2, $3, $4, 'store-1') RETURNING id", [featureSetId, split, index, `${split}/${index}`]);
        shards.push(rows[0].id);
      }
    }
    await db.query('INSERT INTO feature_vectors (feature_set_id, image_id, shard_id, row) SELECT $1, id, $2, row_number() OVER (ORDER BY id) - 1 FROM unnest($3::bigint[]) AS id', [featureSetId, shards[0], imageIds.slice(0, VECTORS)]);
    await db.query("INSERT INTO feature_failures (feature_set_id, image_id, reason) SELECT $1, id, 'corrupt ' || id FROM unnest($2::bigint[]) AS id", [featureSetId, imageIds.slice(VECTORS)]);
    // Commands and rejected messages in one statement each: every row has the same created_at.
    await db.query("INSERT INTO commands (id, type, payload, status) SELECT 'cmd-' || lpad(i::text, 5, '0'), 'datasets.register', '{}', 'succeeded' FROM generate_series(1, $1) AS i", [COMMANDS]);
    await db.query(
      "INSERT INTO rejected_messages (kind, stream, consumer, subject, stream_sequence, delivery_count, reason, payload) SELECT 'decode', 'S', 'c', 'featx.cmd.x', i, 1, 'bad ' || i, '\\x00' FROM generate_series(1, $1) AS i",
      [REJECTED],
    );
    await db.query("INSERT INTO training_runs (feature_set_id, config, classes) SELECT $1, '{}', '[]' FROM generate_series(1, $2)", [featureSetId, RUNS]);
  }, 120000);

  afterAll(async () => {
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
  });

  const api = (route: string) => callTestApi(services.apiUrl, 'GET', route);

  /** Every page of `route`, `limit` rows at a time: the rows, and how many pages it took. */
  async function walk<T>(route: string, limit: number): Promise<{ rows: T[]; pages: number }> {
    const rows: T[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const separator = route.includes('?') ? '&' : '?';
      const res = await api(`${route}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      rows.push(...res.body.items);
      cursor = res.body.next;
      pages += 1;
    } while (cursor !== null);
    return { rows, pages };
  }

  it("walks a dataset's images in id order, each once", async () => {
    const { rows, pages } = await walk<{ id: number; path: string }>(`/datasets/${datasetId}/images`, 1000);
    expect(rows.map((r) => r.id)).toEqual(imageIds);
    expect(pages).toBe(3);
    const first = (await api(`/datasets/${datasetId}/images`)).body;
    expect(first.items).toHaveLength(100); // the default page
    expect(first.items[0]).toMatchObject({ id: imageIds[0], split: 'training', label: 'c1', path: 'set-0/training/1.jpg', bytes: 1, status: 'present' });
  });

  it('walks vectors and failures in image id order, and shards by split and index', async () => {
    expect((await walk<{ imageId: number }>(`/feature-sets/${featureSetId}/vectors`, 999)).rows.map((r) => r.imageId)).toEqual(imageIds.slice(0, VECTORS));
    const failures = await walk<{ imageId: number; reason: string; path: string }>(`/feature-sets/${featureSetId}/failures`, 77);
    expect(failures.rows.map((r) => r.imageId)).toEqual(imageIds.slice(VECTORS));
    expect(failures.rows[0]).toMatchObject({ reason: `corrupt ${imageIds[VECTORS]}`, path: `set-0/training/${VECTORS + 1}.jpg` });
    const shards = await walk<{ split: string; index: number }>(`/feature-sets/${featureSetId}/shards`, 1);
    expect(shards.rows.map((s) => `${s.split}/${s.index}`)).toEqual(['evaluation/0', 'training/0', 'training/1', 'validation/0']);
    expect(shards.pages).toBe(4);
  });

  it('walks commands and rejected messages newest first, rows of one instant ordered by id', async () => {
    const commands = await walk<{ id: string }>('/commands', 500);
    expect(commands.rows.map((c) => c.id)).toEqual(Array.from({ length: COMMANDS }, (_, i) => `cmd-${String(COMMANDS - i).padStart(5, '0')}`));
    const rejected = await walk<{ id: number; streamSequence: number }>('/rejected-messages', 1000);
    expect(rejected.rows.map((r) => r.streamSequence)).toEqual(Array.from({ length: REJECTED }, (_, i) => REJECTED - i));
  });

  it('walks datasets, feature sets and runs oldest first, filters included', async () => {
    const datasets = await walk<{ name: string }>('/datasets', 5);
    expect(datasets.rows.map((d) => d.name)).toEqual(Array.from({ length: DATASETS }, (_, d) => `set-${d}`));
    expect(datasets.pages).toBe(3);
    const runs = await walk<{ id: string }>(`/runs?featureSetId=${featureSetId}`, 7);
    expect(new Set(runs.rows.map((r) => r.id)).size).toBe(RUNS);
    expect((await walk<{ id: string }>('/feature-sets', 1)).rows.map((s) => s.id)).toEqual([featureSetId]);
  });

  it('answers 400 naming a bad limit or cursor', async () => {
    for (const limit of ['0', '1001', 'ten', '2.5', '-1']) {
      const res = await api(`/datasets?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(`limit: "${limit}" is not a whole number from 1 to 1000`);
    }
    const garbage = await api('/commands?cursor=not-a-cursor');
    expect(garbage.status).toBe(400);
    expect(garbage.body.message).toMatch(/^cursor: /);
    // A cursor of a list keyed by text given to a list keyed by number.
    const commandCursor = (await api('/commands?limit=1')).body.next;
    const crossed = await api(`/rejected-messages?cursor=${encodeURIComponent(commandCursor)}`);
    expect(crossed.status).toBe(400);
    expect(crossed.body.message).toMatch(/^cursor: cursor ".*" is not a cursor this list returned/);
  });

  it('documents limit and cursor on every list', async () => {
    const docs = (await (await fetch(`${services.apiUrl}/docs/json`)).json()) as { paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> };
    const lists = ['/datasets', '/datasets/{id}/images', '/feature-sets', '/feature-sets/{id}/shards', '/feature-sets/{id}/failures', '/feature-sets/{id}/vectors', '/runs', '/commands', '/rejected-messages'];
    for (const list of lists) expect({ list, names: docs.paths[list]?.get?.parameters?.map((p) => p.name) }).toEqual({ list, names: expect.arrayContaining(['limit', 'cursor']) });
  });

  it('the CLI lists one page and prints how to list the next', async () => {
    const first = await runTestCli(services.apiUrl, ['datasets', 'images', datasetId, '--limit', '2']);
    expect(first.code).toBe(0);
    expect(first.out).toContain('set-0/training/1.jpg');
    expect(first.out).not.toContain('set-0/training/3.jpg');
    const hint = /more: featx datasets images \S+ --cursor (\S+)/.exec(first.out);
    expect(hint).not.toBeNull();
    const second = await runTestCli(services.apiUrl, ['datasets', 'images', datasetId, '--limit', '2', '--cursor', hint![1]]);
    expect(second.out).toContain('set-0/training/3.jpg');
    const json = JSON.parse((await runTestCli(services.apiUrl, ['commands', 'ls', '--limit', '3', '--json'])).out);
    expect(json.items.map((c: { id: string }) => c.id)).toEqual(['cmd-01200', 'cmd-01199', 'cmd-01198']);
    const failures = await runTestCli(services.apiUrl, ['features', 'failures', featureSetId, '--limit', '1']);
    expect(failures.out).toContain(`corrupt ${imageIds[VECTORS]}`);
    expect(failures.out).toMatch(/more: featx features failures/);
  });
});
