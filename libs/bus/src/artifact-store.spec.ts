import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Objm } from '@nats-io/obj';
import { createTestBus, suiteTempDir, TestBus } from '@featx/testing';
import { artifactBucket, artifactsInFolder, artifactStreamName, ArtifactStore } from '.';

/** The artifacts bucket against the real NATS: folders up and down, checked against their records. */
describe('ArtifactStore', () => {
  const temp = suiteTempDir('featx-artifact-store-');
  let t: TestBus;
  let store: ArtifactStore;

  beforeAll(async () => {
    t = await createTestBus();
    store = await ArtifactStore.open(t.bus);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('creates the bucket once however many open it at once, and the test bus cleanup removes it', async () => {
    const opened = await Promise.all([1, 2, 3].map(() => ArtifactStore.open(t.bus)));
    expect(opened.map((s) => s.bucket)).toEqual([1, 2, 3].map(() => artifactBucket(t.bus.names)));
    const info = await t.bus.jsm.streams.info(artifactStreamName(t.bus.names));
    expect(info.config.num_replicas).toBe(1);

    const other = await createTestBus();
    await ArtifactStore.open(other.bus);
    await other.cleanup();
    const check = await createTestBus(other.namespace);
    await expect(check.bus.jsm.streams.info(artifactStreamName(check.bus.names))).rejects.toThrow(/not found/);
    await check.cleanup();
  });

  it('fails naming the bucket and the server\'s answer when the bucket cannot be made (R3 on a single server)', async () => {
    const other = await createTestBus();
    try {
      const started = Date.now();
      await expect(ArtifactStore.open(other.bus, { replicas: 3, settleTimeoutMs: 600 })).rejects.toThrow(new RegExp(`cannot open the artifacts bucket ${artifactBucket(other.bus.names)}: .*replicas`, 'i'));
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await other.cleanup();
    }
  });

  it('round-trips a folder byte for byte, larger than one chunk and one message', async () => {
    const runId = randomUUID();
    const local = temp.next('model');
    await fs.mkdir(path.join(local, 'sub'), { recursive: true });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await fs.writeFile(path.join(local, 'weights.bin'), big);
    await fs.writeFile(path.join(local, 'model.json'), '{"a":1}');
    await fs.writeFile(path.join(local, 'sub', 'empty.txt'), '');
    const records = await store.putFolder(runId, 'model', local);
    expect(records.map((r) => [r.name, r.bytes])).toEqual([['model/model.json', 7], ['model/sub/empty.txt', 0], ['model/weights.bin', big.length]]);
    await store.put(runId, 'curves.svg', Buffer.from('<svg/>'));

    expect((await store.list(runId)).map((r) => r.name)).toEqual(['curves.svg', 'model/model.json', 'model/sub/empty.txt', 'model/weights.bin']);
    expect(Buffer.from((await store.get(runId, 'curves.svg'))!).toString()).toBe('<svg/>');
    expect(await store.get(runId, 'confusion.svg')).toBeNull();

    const down = temp.next('down');
    await store.getFolder(runId, 'model', artifactsInFolder(records, 'model'), down);
    expect((await fs.readFile(path.join(down, 'weights.bin'))).equals(big)).toBe(true);
    expect(await fs.readFile(path.join(down, 'model.json'), 'utf8')).toBe('{"a":1}');
    expect(await fs.readFile(path.join(down, 'sub', 'empty.txt'), 'utf8')).toBe('');
  });

  it('refuses to download an object replaced or deleted since its record was written', async () => {
    const runId = randomUUID();
    const [record] = [await store.put(runId, 'model/model.json', Buffer.from('first'))];
    await store.put(runId, 'model/model.json', Buffer.from('second'));
    await expect(store.getFolder(runId, 'model', artifactsInFolder([record], 'model'), temp.next('x'))).rejects.toThrow(
      new RegExp(`${artifactBucket(t.bus.names)}/${runId}/model/model.json changed since it was published`),
    );
    await new Objm(t.bus.js).open(artifactBucket(t.bus.names)).then((objects) => objects.delete(`${runId}/model/model.json`));
    await expect(store.getFolder(runId, 'model', artifactsInFolder([record], 'model'), temp.next('y'))).rejects.toThrow(/model\.json is missing/);
  });

  it('deletes the objects of one run only', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await store.put(a, 'x.txt', Buffer.from('a'));
    await store.put(a, 'model/y.txt', Buffer.from('a'));
    await store.put(b, 'x.txt', Buffer.from('b'));
    expect(await store.deleteRun(a)).toBe(2);
    expect(await store.list(a)).toEqual([]);
    expect((await store.list(b)).map((r) => r.name)).toEqual(['x.txt']);
  });
});
