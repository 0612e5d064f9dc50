import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import sharp from 'sharp';
import { DatabaseHandle, openDatabase, RunImagePredictionsRepository } from '@featx/db';
import { callTestApi, runTestCli, startTestServices, TestServices, TEST_API_TOKEN } from './support/test-services';

/**
 * The API's image views on a registered folder (real ingest, NATS and Postgres): thumbnails (made
 * once per content and size, refused outside the data roots, bounded sizes, a clear answer for a
 * corrupt file), the images behind a run's confusion cells (the test writes the trainer's rows),
 * and a dataset's files by status.
 */
describe('image thumbnails, confusion-cell images and files by status (API)', () => {
  let dataRoot: string;
  let outside: string;
  let folder: string;
  let services: TestServices;
  let db: Client;
  let handle: DatabaseHandle;
  let datasetId: string;
  const ids: Record<string, number> = {};
  const sha: Record<string, string> = {};

  const api = (route: string) => callTestApi(services.apiUrl, 'GET', route);
  const fetchThumbnail = (route: string, headers: Record<string, string> = {}) => fetch(`${services.apiUrl}${route}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}`, ...headers } });
  const picture = (width: number, height: number, r: number) => sharp({ create: { width, height, channels: 3, background: { r, g: 90, b: 200 - r } } });

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-images-')));
    outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-outside-')));
    folder = path.join(dataRoot, 'photos');
    await fs.mkdir(path.join(folder, 'food'), { recursive: true });
    await fs.mkdir(path.join(folder, 'non_food'), { recursive: true });
    await picture(64, 48, 10).jpeg().toFile(path.join(folder, 'food', 'wide.jpg'));
    await picture(30, 90, 60).png().toFile(path.join(folder, 'food', 'tall.png'));
    await picture(40, 40, 110).jpeg().toFile(path.join(folder, 'non_food', 'square.jpg'));
    await picture(40, 40, 160).jpeg().toFile(path.join(folder, 'non_food', 'gone.jpg'));
    await fs.writeFile(path.join(folder, 'non_food', 'corrupt.jpg'), 'this is text, not a JPEG');
    await picture(40, 40, 200).jpeg().toFile(path.join(outside, 'secret.jpg'));
    services = await startTestServices({ dataRoots: `data=${dataRoot}` });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    handle = openDatabase(services.database.url);
    const added = await runTestCli(services.apiUrl, ['datasets', 'add', folder, '--json']);
    expect(added).toMatchObject({ code: 0 });
    datasetId = (JSON.parse(added.out) as { dataset: { id: string } }).dataset.id;
    for (const row of (await db.query('SELECT id, path, sha256 FROM images WHERE dataset_id = $1', [datasetId])).rows) {
      ids[path.basename(row.path)] = Number(row.id);
      sha[path.basename(row.path)] = row.sha256;
    }
  }, 60000);

  afterAll(async () => {
    await handle?.close();
    await db?.end();
    await services?.close();
    for (const dir of [dataRoot, outside]) if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  describe('GET /images/:id/thumbnail', () => {
    it('is a square WebP of the asked size, centre-cropped, behind the token, private and revalidated, tagged with the content hash', async () => {
      const response = await fetchThumbnail(`/images/${ids['wide.jpg']}/thumbnail`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/webp');
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
      expect(response.headers.get('etag')).toBe(`"${sha['wide.jpg']}-128"`);
      expect(await sharp(Buffer.from(await response.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: 128, height: 128 });

      const small = await fetchThumbnail(`/images/${ids['tall.png']}/thumbnail?size=32`);
      expect(await sharp(Buffer.from(await small.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: 32, height: 32 });

      expect((await callTestApi(services.apiUrl, 'GET', `/images/${ids['wide.jpg']}/thumbnail`, undefined, null)).status).toBe(401);
    });

    it('refuses sizes out of range and ids that are not image ids with a 400 naming the parameter, and an unknown image with a 404', async () => {
      for (const size of ['8', '513', 'abc', '1.5', '-64']) {
        const { status, body } = await api(`/images/${ids['wide.jpg']}/thumbnail?size=${size}`);
        expect({ size, status, message: body.message }).toEqual({ size, status: 400, message: `size: "${size}" is not a whole number of pixels from 16 to 512` });
      }
      expect(await api('/images/abc/thumbnail')).toMatchObject({ status: 400, body: { message: 'imageId: "abc" is not an image id (a positive whole number)' } });
      expect(await api('/images/0/thumbnail')).toMatchObject({ status: 400 });
      expect(await api('/images/987654321/thumbnail')).toMatchObject({ status: 404, body: { message: 'image 987654321 not found' } });
    });

    it('is made once per content and size: the cached file is served, and If-None-Match gets a 304', async () => {
      const route = `/images/${ids['square.jpg']}/thumbnail?size=64`;
      const first = Buffer.from(await (await fetchThumbnail(route)).arrayBuffer());
      const cached = path.join(services.stateDir, 'thumbnails', sha['square.jpg'].slice(0, 2), `${sha['square.jpg']}-64.webp`);
      expect(await fs.readFile(cached)).toEqual(first);
      // Another picture in the cache's place: what comes back is the cache's, not made afresh.
      const planted = await picture(64, 64, 250).webp().toBuffer();
      await fs.writeFile(cached, planted);
      expect(Buffer.from(await (await fetchThumbnail(route)).arrayBuffer())).toEqual(planted);
      const revalidated = await fetchThumbnail(route, { 'if-none-match': `"${sha['square.jpg']}-64"` });
      expect(revalidated.status).toBe(304);
      expect(await revalidated.text()).toBe('');
    });

    it('makes a new thumbnail for a file changed since its scan (hashed afresh)', async () => {
      const file = path.join(folder, 'food', 'wide.jpg');
      const before = Buffer.from(await (await fetchThumbnail(`/images/${ids['wide.jpg']}/thumbnail`)).arrayBuffer());
      await picture(80, 80, 240).jpeg().toFile(file);
      const newSha = createHash('sha256').update(await fs.readFile(file)).digest('hex');
      const after = await fetchThumbnail(`/images/${ids['wide.jpg']}/thumbnail`);
      expect(after.headers.get('etag')).toBe(`"${newSha}-128"`);
      expect(Buffer.from(await after.arrayBuffer())).not.toEqual(before);
      await fs.access(path.join(services.stateDir, 'thumbnails', newSha.slice(0, 2), `${newSha}-128.webp`));
    });

    it('says why a corrupt file has no thumbnail (422), and caches nothing for it', async () => {
      const { status, body } = await api(`/images/${ids['corrupt.jpg']}/thumbnail`);
      expect(status).toBe(422);
      expect(body.message).toMatch(/^image \d+ \(data:photos\/non_food\/corrupt\.jpg\) cannot be read as an image: .+/);
      await expect(fs.access(path.join(services.stateDir, 'thumbnails', sha['corrupt.jpg'].slice(0, 2)))).rejects.toThrow();
    });

    it('reads no file outside the data roots (a symlink leading out is a 403) and says when the file is gone (404)', async () => {
      const square = path.join(folder, 'non_food', 'square.jpg');
      await fs.rm(square);
      await fs.symlink(path.join(outside, 'secret.jpg'), square);
      const { status, body } = await api(`/images/${ids['square.jpg']}/thumbnail?size=48`);
      expect(status).toBe(403);
      expect(body.message).toMatch(/^image \d+ \(data:photos\/non_food\/square\.jpg\): path ".*" is outside the data roots/);

      await fs.rm(path.join(folder, 'non_food', 'gone.jpg'));
      expect(await api(`/images/${ids['gone.jpg']}/thumbnail`)).toMatchObject({ status: 404, body: { message: `image ${ids['gone.jpg']} (data:photos/non_food/gone.jpg): the file does not exist (re-scan the dataset)` } });
    });
  });

  describe('GET /datasets/:id/images?status=', () => {
    it('lists the files of one status, and refuses an unknown status', async () => {
      await db.query("UPDATE images SET status = 'missing' WHERE id = $1", [ids['gone.jpg']]);
      const missing = await api(`/datasets/${datasetId}/images?status=missing`);
      expect(missing.body.items.map((image: { path: string }) => image.path)).toEqual(['photos/non_food/gone.jpg']);
      expect((await api(`/datasets/${datasetId}/images?status=present`)).body.items).toHaveLength(4);
      expect(await api(`/images/${ids['gone.jpg']}/thumbnail`)).toMatchObject({ status: 404, body: { message: `image ${ids['gone.jpg']} (data:photos/non_food/gone.jpg): the file was gone at the dataset's last scan` } });
      expect(await api(`/datasets/${datasetId}/images?status=lost`)).toMatchObject({ status: 400, body: { message: 'status: "lost" is not one of present, missing, failed, changed' } });
    });
  });

  describe('GET /runs/:id/predictions', () => {
    let runId: string;
    let oldRunId: string;

    beforeAll(async () => {
      const set = await db.query(
        "INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, dim, status, images, stored) VALUES ($1, 'synthetic', 'avg', 'float32', '{}', 4, 'complete', 5, 5) RETURNING id",
        [datasetId],
      );
      const insertRun = async () =>
        (
          await db.query(
            "INSERT INTO training_runs (feature_set_id, config, status, classes, started_at, finished_at) VALUES ($1, '{}', 'succeeded', $2, now(), now()) RETURNING id",
            [set.rows[0].id, JSON.stringify(['food', 'non_food'])],
          )
        ).rows[0].id as string;
      runId = await insertRun();
      oldRunId = await insertRun();
      // As the trainer writes them: true and predicted class indexes, the probability of the predicted one.
      const predictions = new RunImagePredictionsRepository(handle.db);
      await predictions.replace(runId, 'evaluation', {
        imageIds: [ids['wide.jpg'], ids['tall.png'], ids['square.jpg'], ids['corrupt.jpg'], ids['gone.jpg']],
        trueClasses: [0, 0, 1, 1, 1],
        predictedClasses: [0, 1, 1, 0, 0],
        probabilities: [0.9, 0.75, 0.6, 0.55, 0.8],
      });
    });

    it('lists a confusion cell\'s images with their paths, classes by name and probability, in keyset pages', async () => {
      const cell = await api(`/runs/${runId}/predictions?split=evaluation&true=non_food&predicted=food`);
      expect(cell).toMatchObject({ status: 200, body: { next: null } });
      expect(cell.body.items).toEqual(
        [
          { imageId: ids['corrupt.jpg'], path: 'photos/non_food/corrupt.jpg', trueClass: 'non_food', predictedClass: 'food', probability: expect.closeTo(0.55, 6) },
          { imageId: ids['gone.jpg'], path: 'photos/non_food/gone.jpg', trueClass: 'non_food', predictedClass: 'food', probability: expect.closeTo(0.8, 6) },
        ].sort((a, b) => a.imageId - b.imageId),
      );
      const first = await api(`/runs/${runId}/predictions?limit=3`); // the evaluation split by default; every cell
      expect(first.body.items).toHaveLength(3);
      const rest = await api(`/runs/${runId}/predictions?limit=3&cursor=${first.body.next}`);
      expect(rest.body).toMatchObject({ next: null });
      expect([...first.body.items, ...rest.body.items].map((p: { imageId: number }) => p.imageId)).toEqual(Object.values(ids).sort((a, b) => a - b));
      expect((await api(`/runs/${runId}/predictions?true=food&predicted=food`)).body.items.map((p: { path: string }) => p.path)).toEqual(['photos/food/wide.jpg']);
      expect((await api(`/runs/${runId}/predictions?split=validation&true=food`)).body).toEqual({ items: [], next: null });
    });

    it('refuses a class the run does not have, a split runs are not evaluated on, and says when a run recorded none', async () => {
      expect(await api(`/runs/${runId}/predictions?true=cat`)).toMatchObject({ status: 400, body: { message: `true: "cat" is not a class of run ${runId} (food, non_food)` } });
      expect(await api(`/runs/${runId}/predictions?predicted=cat`)).toMatchObject({ status: 400, body: { message: `predicted: "cat" is not a class of run ${runId} (food, non_food)` } });
      expect(await api(`/runs/${runId}/predictions?split=training`)).toMatchObject({ status: 400, body: { message: 'split: "training" is not one of validation, evaluation' } });
      expect(await api('/runs/00000000-0000-4000-8000-000000000000/predictions')).toMatchObject({ status: 404 });
      expect(await api(`/runs/${oldRunId}/predictions?true=food&predicted=food`)).toMatchObject({
        status: 409,
        body: { message: `run ${oldRunId} has no per-image predictions: it was trained before featx recorded them (its confusion matrices have counts only)` },
      });
    });

    it('replaces a split\'s predictions in chunks (a resumed run evaluates again)', async () => {
      const predictions = new RunImagePredictionsRepository(handle.db);
      const rows = 12001;
      const bulk = await db.query("INSERT INTO images (dataset_id, split, label, path, bytes, sha256, mtime_ms) SELECT $1, 'evaluation', 'food', 'bulk/' || g, 1, '', 0 FROM generate_series(1, $2::int) g RETURNING id", [datasetId, rows]);
      const imageIds = bulk.rows.map((row) => Number(row.id));
      const write = (predicted: number) => predictions.replace(oldRunId, 'validation', { imageIds, trueClasses: imageIds.map(() => 0), predictedClasses: imageIds.map(() => predicted), probabilities: imageIds.map(() => 0.5) });
      await write(1);
      await write(0);
      const counts = await db.query('SELECT predicted_class, count(*)::int AS n FROM run_image_predictions WHERE run_id = $1 GROUP BY 1', [oldRunId]);
      expect(counts.rows).toEqual([{ predicted_class: 0, n: rows }]);
      await expect(predictions.replace(oldRunId, 'validation', { imageIds: [1, 2], trueClasses: [0], predictedClasses: [0, 0], probabilities: [1, 1] })).rejects.toThrow(
        `predictions of run ${oldRunId} (validation): 2 image ids, 1 true classes, 2 predicted classes, 2 probabilities`,
      );
      await expect(predictions.replace(oldRunId, 'validation', { imageIds: [imageIds[0], NaN], trueClasses: [0, 0], predictedClasses: [0, 0], probabilities: [1, 1] })).rejects.toThrow(
        `predictions of run ${oldRunId} (validation): row 1 has no image id (NaN): the shard rows were read without their ids`,
      );
    });
  });
});
