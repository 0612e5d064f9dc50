import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Client } from 'pg';
import { connectBus, BusConnection } from '@featx/bus';
import { encodeMessage } from '@featx/contracts';
import { startTestServices, TestServices, runTestCli, callTestApi } from './support/test-services';
import { TEST_NATS_URL, waitForCommand } from '@featx/testing';

/**
 * The foundation end to end: the featx CLI and plain NATS clients drive the API and the ingest
 * service, which run against the real NATS and Postgres; the test writes real image files.
 */
describe('registering datasets (API, bus, ingest, CLI)', () => {
  let dataRoot: string;
  let outside: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-data-')));
    outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-outside-')));
    services = await startTestServices({ dataRoots: `data=${dataRoot}` });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'e2e-client', namespace: services.namespace });
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  async function image(file: string, seed: number, format: 'jpeg' | 'png' | 'webp' = 'jpeg') {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const img = sharp({ create: { width: 16, height: 12, channels: 3, background: { r: seed % 256, g: (seed * 7) % 256, b: (seed * 13) % 256 } } });
    await img.toFormat(format).toFile(file);
  }

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);

  const api = (method: string, route: string, body?: unknown, token?: string | null) => callTestApi(services.apiUrl, method, route, body, token);

  async function addJson(folder: string, ...extra: string[]) {
    const result = await cli('datasets', 'add', folder, '--json', ...extra);
    expect(result).toMatchObject({ code: 0 });
    return JSON.parse(result.out) as { result: Record<string, number | string>; dataset: { id: string; layout: string; classes: string[]; imageCount: number; counts: { bySplit: Record<string, number>; bySplitAndClass: Record<string, Record<string, number>> } } };
  }

  describe('layouts', () => {
    it('split/class/file (the tutorial dataset/ folder), every format sharp reads, hidden files skipped', async () => {
      const root = path.join(dataRoot, 'tutorial');
      let seed = 0;
      for (const split of ['training', 'validation', 'evaluation']) {
        for (const label of ['food', 'non_food']) {
          await image(path.join(root, split, label, `a${seed}.jpg`), seed++);
          await image(path.join(root, split, label, `b${seed}.png`), seed++, 'png');
        }
      }
      await image(path.join(root, 'training', 'food', 'c.webp'), 99, 'webp');
      await image(path.join(root, 'training', 'food', '.hidden.jpg'), 98);
      await fs.writeFile(path.join(root, 'training', 'food', 'notes.txt'), 'not an image');

      const { result, dataset } = await addJson(root);
      expect(dataset.layout).toBe('split-class');
      expect(result.images).toBe(13);
      expect(dataset.counts.bySplit).toEqual({ training: 5, validation: 4, evaluation: 4 });
      expect(dataset.counts.bySplitAndClass.training).toEqual({ food: 3, non_food: 2 });
      expect(dataset.classes).toEqual(['food', 'non_food']);

      const { rows } = await db.query('SELECT path, bytes, sha256, label, split FROM images WHERE dataset_id = $1 ORDER BY path', [dataset.id]);
      const first = rows.find((r) => r.path === 'tutorial/evaluation/food/a8.jpg');
      const bytes = await fs.readFile(path.join(root, 'evaluation/food/a8.jpg'));
      expect(first).toMatchObject({ label: 'food', split: 'evaluation', bytes: String(bytes.length) });
      expect(first.sha256).toBe(require('node:crypto').createHash('sha256').update(bytes).digest('hex'));
    });

    it('raw Food-5K: split folders of <classIndex>_<n>.jpg and a class-name list', async () => {
      const root = path.join(dataRoot, 'Food-5K');
      for (const [split, n] of [['training', 3], ['validation', 2], ['evaluation', 2]] as const) {
        for (let i = 0; i < n; i++) {
          await image(path.join(root, split, `0_${i}.jpg`), i);
          await image(path.join(root, split, `1_${i}.jpg`), i + 50);
        }
      }
      const { result, dataset } = await addJson(root, '--classes', 'non_food,food');
      expect(dataset.layout).toBe('food5k');
      expect(result.images).toBe(14);
      expect(dataset.classes).toEqual(['non_food', 'food']);
      expect(dataset.counts.bySplitAndClass.training).toEqual({ food: 3, non_food: 3 });
      expect(dataset.counts.bySplit).toEqual({ training: 6, validation: 4, evaluation: 4 });
    });

    it('class/file with no split: seeded, stratified split at the given ratios', async () => {
      const root = path.join(dataRoot, 'flat');
      for (let i = 0; i < 20; i++) await image(path.join(root, 'cats', `${i}.jpg`), i);
      for (let i = 0; i < 10; i++) await image(path.join(root, 'dogs', `${i}.jpg`), i + 100);
      const { dataset } = await addJson(root, '--split', '0.6,0.2,0.2', '--seed', '7');
      expect(dataset.layout).toBe('class');
      expect(dataset.counts.bySplitAndClass).toEqual({
        training: { cats: 12, dogs: 6 },
        validation: { cats: 4, dogs: 2 },
        evaluation: { cats: 4, dogs: 2 },
      });
      const splitOf = async () => (await db.query('SELECT path, split FROM images WHERE dataset_id = $1 ORDER BY path', [dataset.id])).rows;
      const before = await splitOf();
      // Same seed: same assignment. Another seed: another assignment, same per-class counts.
      await addJson(root, '--split', '0.6,0.2,0.2', '--seed', '7');
      expect(await splitOf()).toEqual(before);
      const reseeded = await addJson(root, '--split', '0.6,0.2,0.2', '--seed', '8');
      expect(reseeded.dataset.counts.bySplitAndClass.training).toEqual({ cats: 12, dogs: 6 });
      expect(await splitOf()).not.toEqual(before);
    });
  });

  describe('re-registering', () => {
    let root: string;
    beforeAll(async () => {
      root = path.join(dataRoot, 'rescan');
      for (let i = 0; i < 4; i++) await image(path.join(root, 'training', 'x', `${i}.jpg`), i);
      for (let i = 0; i < 2; i++) await image(path.join(root, 'evaluation', 'x', `${i}.jpg`), i + 10);
    });

    it('changes nothing when nothing changed on disk', async () => {
      const first = await addJson(root);
      const snapshot = (await db.query('SELECT id, path, sha256, updated_at FROM images WHERE dataset_id = $1 ORDER BY id', [first.dataset.id])).rows;
      const again = await addJson(root);
      expect(again.dataset.id).toBe(first.dataset.id);
      expect(again.result).toMatchObject({ images: 6, added: 0, changed: 0, unchanged: 6, removed: 0 });
      expect((await db.query('SELECT id, path, sha256, updated_at FROM images WHERE dataset_id = $1 ORDER BY id', [first.dataset.id])).rows).toEqual(snapshot);
      expect((await api('GET', `/datasets/${first.dataset.id}/images?status=changed`)).body).toEqual({ items: [], next: null });
      expect((await db.query('SELECT count(*)::int AS n FROM datasets WHERE path = $1', ['rescan'])).rows[0].n).toBe(1);
    });

    it('notices a file whose content changed, a new file and a removed one', async () => {
      const changedFile = path.join(root, 'training', 'x', '0.jpg');
      const { rows: [before] } = await db.query("SELECT sha256 FROM images WHERE path = 'rescan/training/x/0.jpg'");
      await image(changedFile, 200);
      await image(path.join(root, 'training', 'x', 'new.jpg'), 201);
      await fs.rm(path.join(root, 'evaluation', 'x', '1.jpg'));
      const { result, dataset } = await addJson(root);
      expect(result).toMatchObject({ added: 1, changed: 1, unchanged: 4, removed: 1, images: 6 });
      expect(dataset.imageCount).toBe(6);
      const { rows: [after] } = await db.query("SELECT sha256 FROM images WHERE path = 'rescan/training/x/0.jpg'");
      expect(after.sha256).not.toBe(before.sha256);
      const { rows: [gone] } = await db.query("SELECT status FROM images WHERE path = 'rescan/evaluation/x/1.jpg'");
      expect(gone.status).toBe('missing');
      // Listed as changed, with when: only the file whose content changed (not the new one, not the gone one).
      const changed = (await api('GET', `/datasets/${dataset.id}/images?status=changed`)).body;
      expect(changed.items.map((i: { path: string }) => i.path)).toEqual(['rescan/training/x/0.jpg']);
      expect(Date.parse(changed.items[0].changedAt)).toBeGreaterThan(Date.parse(changed.items[0].createdAt));
    });
  });

  describe('paths outside the data roots', () => {
    it('refuses .., absolute paths elsewhere and symlinks leading out, at the API with a 400 and nothing written', async () => {
      await image(path.join(outside, 'secret', 'a', 'x.jpg'), 1);
      await fs.symlink(path.join(outside, 'secret'), path.join(dataRoot, 'link-out'));
      const before = (await db.query('SELECT count(*)::int AS n FROM commands')).rows[0].n;
      for (const bad of ['../../etc', outside, path.join(dataRoot, 'link-out'), path.join(dataRoot, '..', path.basename(outside))]) {
        const res = await api('POST', '/datasets', { path: bad });
        expect(res.status).toBe(400);
        expect(res.body.message).toMatch(/^path: .*outside the data roots/);
      }
      expect((await db.query('SELECT count(*)::int AS n FROM commands')).rows[0].n).toBe(before);
      const viaCli = await cli('datasets', 'add', outside);
      expect(viaCli.code).toBe(1);
      expect(viaCli.err).toMatch(/outside the data roots/);
    });

    it('fails a bus command with such a path, recording the reason', async () => {
      const id = '6f1c1a52-0000-4000-8000-000000000001';
      await bus.js.publish(bus.names.subjects.registerDataset, JSON.stringify({ v: 1, id, path: '/etc' }));
      const command = await waitForCommand(db, id);
      expect(command.status).toBe('failed');
      expect(command.error).toMatch(/path "\/etc" is outside the data roots/);
    });

    it('does not follow a symlink inside a dataset that leads out', async () => {
      const root = path.join(dataRoot, 'with-link');
      await image(path.join(root, 'training', 'a', 'ok.jpg'), 3);
      await fs.symlink(path.join(outside, 'secret', 'a', 'x.jpg'), path.join(root, 'training', 'a', 'escape.jpg'));
      const { result } = await addJson(root);
      expect(result.images).toBe(1);
      expect(result.skipped).toBe(1);
    });
  });

  describe('bus commands from any NATS client', () => {
    it('accepts a JSON command without an id, and rejects and records malformed ones while going on', async () => {
      const root = path.join(dataRoot, 'via-nats');
      await image(path.join(root, 'training', 'a', '1.jpg'), 1);
      const subject = bus.names.subjects.registerDataset;
      await bus.js.publish(subject, new Uint8Array([0xc1, 0x00, 0xff]));
      await bus.js.publish(subject, encodeMessage({ v: 1, path: 12 }));
      await bus.js.publish(subject, encodeMessage({ v: 99, path: 'via-nats' }));
      const ack = await bus.js.publish(subject, JSON.stringify({ v: 1, path: 'via-nats' }));
      const command = await waitForCommand(db, `${bus.names.streams.commands}:${ack.seq}`);
      expect(command.status).toBe('succeeded');
      expect((command.result as { images: number }).images).toBe(1);

      const { rows } = await db.query('SELECT kind, reason, subject FROM rejected_messages ORDER BY stream_sequence');
      expect(rows.map((r) => r.kind)).toEqual(['decode', 'validation', 'validation']);
      expect(rows[1].reason).toMatch(/field "path"/);
      expect(rows[2].reason).toMatch(/unsupported version 99/);
      const listed = await api('GET', '/rejected-messages');
      expect(listed.body.items).toHaveLength(3);
      expect(listed.body.next).toBeNull();
    });
  });

  describe('API', () => {
    it('requires the bearer token, except for health and docs', async () => {
      expect((await api('GET', '/datasets', undefined, null)).status).toBe(401);
      expect((await api('GET', '/datasets', undefined, 'wrong-token')).status).toBe(401);
      expect((await api('GET', '/datasets')).status).toBe(200);
      expect((await api('GET', '/health/ready', undefined, null)).body).toEqual({ status: 'ok', nats: 'ok', postgres: 'ok', pid: process.pid });
      const docs = await fetch(`${services.apiUrl}/docs/json`);
      expect(docs.status).toBe(200);
      expect(Object.keys(((await docs.json()) as { paths: object }).paths)).toEqual(expect.arrayContaining(['/datasets', '/datasets/{id}', '/commands/{id}']));
    });

    it('answers bad requests with a 400 that names the field', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{}, /^path: /],
        [{ path: 5 }, /^path: .*expected string/],
        [{ path: 'x', layout: 'zigzag' }, /^layout: /],
        [{ path: 'x', seed: -1 }, /^seed: /],
        [{ path: 'x', splitRatios: { training: 0.5, validation: 0.1, evaluation: 0.1 } }, /^splitRatios: .*add up to 1/],
        [{ path: 'x', extra: true }, /extra/],
        ['[1,2]', /JSON object/],
      ];
      for (const [body, message] of cases) {
        const res = await api('POST', '/datasets', body);
        expect(res.status).toBe(400);
        expect(res.body.message).toMatch(message);
      }
      expect((await api('POST', '/datasets', '{"path": ')).status).toBe(400);
      expect((await api('GET', '/datasets/not-a-uuid')).body.message).toMatch(/^id: /);
      expect((await api('GET', '/datasets/6f1c1a52-0000-4000-8000-00000000ffff')).status).toBe(404);
    });

    it('lists and shows datasets through the CLI as tables', async () => {
      const ls = await cli('datasets', 'ls');
      expect(ls.code).toBe(0);
      expect(ls.out).toMatch(/tutorial/);
      const id = (await api('GET', '/datasets')).body.items.find((d: { name: string }) => d.name === 'tutorial').id;
      const show = await cli('datasets', 'show', id);
      expect(show.out).toMatch(/│ total\s+│ 5\s+│ 4\s+│ 4\s+│ 13\s+│/);
      const missing = await cli('datasets', 'show', '6f1c1a52-0000-4000-8000-00000000ffff');
      expect(missing).toMatchObject({ code: 1 });
      expect(missing.err).toMatch(/404: dataset .* not found/);
    });
  });
});
