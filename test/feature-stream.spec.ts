import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { BusClient, BusConnection, connectBus } from '@featx/bus';
import { ShardWriter } from '@featx/features';
import { TEST_NATS_URL } from '@featx/testing';
import { startTestServices, TestServices } from './support/test-services';
import { streamSplit, StreamBatch } from '../apps/trainer/src/data/feature-stream';
import { ShardRef, ShardRowsClient } from '../apps/trainer/src/data/shard-rows.client';

/**
 * The trainer's data path: rows come from the feature store over NATS request/reply (no shared
 * disk), an epoch at a time, every row exactly once, reshuffled per epoch.
 */
describe('streaming shard rows from the feature store', () => {
  const DIM = 3000; // 12 KB rows: a reply holds ~80, so reads span several requests
  let root: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let shards: ShardRef[];

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-stream-')));
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store'],
      env: { FEATX_FEATURES_DIR: path.join(root, 'features'), FEATX_STORE_ID: 'store-a' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'stream-test', namespace: services.namespace });
    const { rows: [dataset] } = await db.query("INSERT INTO datasets (name, root, path, layout) VALUES ('d', 'data', 'd', 'split-class') RETURNING id");
    const { rows: [set] } = await db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, dim, status) VALUES ($1, 'm', 'avg', 'float16', '{}', $2, 'complete') RETURNING id", [dataset.id, DIM]);
    shards = [];
    let id = 1;
    for (const [index, rows, onDisk] of [[0, 250, 250], [1, 130, 140]] as const) {
      const rel = `${set.id}/training/store-a-${index}`;
      const writer = await ShardWriter.open(path.join(root, 'features', rel), { dim: DIM, dtype: 'float16' });
      const features = new Float32Array(onDisk * DIM);
      const ids: number[] = [];
      for (let r = 0; r < onDisk; r++, id++) {
        features.fill(id, r * DIM, (r + 1) * DIM); // every value of a row is its image id
        ids.push(id);
      }
      await writer.append({ features, labels: ids.map((i) => i % 3), imageIds: ids });
      await writer.close();
      // The second shard has 10 uncommitted rows on disk: they must never be served.
      const { rows: [shard] } = await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, rows, writer) VALUES ($1, 'training', $2, $3, $4, 'store-a') RETURNING id", [set.id, index, rel, rows]);
      shards.push({ id: shard.id, writer: 'store-a', rows });
    }
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function collect(batches: AsyncIterable<StreamBatch>) {
    const order: number[] = [];
    for await (const batch of batches) {
      for (let r = 0; r < batch.rows; r++) {
        const value = batch.features[r * DIM];
        expect(batch.features[r * DIM + DIM - 1]).toBe(value);
        expect(batch.labels[r]).toBe(value % 3);
        order.push(value);
      }
    }
    return order;
  }

  const committed = () => [...Array.from({ length: 250 }, (_, i) => i + 1), ...Array.from({ length: 130 }, (_, i) => i + 251)];

  it('reads a split in stored order, committed rows only', async () => {
    const client = new ShardRowsClient(new BusClient(bus));
    expect(client.rowsPerRequest(DIM)).toBeLessThan(100);
    const order = await collect(streamSplit(client, shards, { dim: DIM, batchRows: 32, order: 'sequential' }));
    expect(order).toEqual(committed());
  });

  it('reshuffles every epoch, the same way for the same seed, each row exactly once', async () => {
    const client = new ShardRowsClient(new BusClient(bus));
    const epoch = (n: number, seed = 7) => collect(streamSplit(client, shards, { dim: DIM, batchRows: 32, order: 'shuffled', seed, epoch: n, bufferBytes: 40 * DIM * 4 }));
    const [a, b, again] = [await epoch(0), await epoch(1), await epoch(0)];
    for (const order of [a, b]) expect([...order].sort((x, y) => x - y)).toEqual(committed());
    expect(a).not.toEqual(b);
    expect(a).toEqual(again);
    expect(a).not.toEqual(committed());
  });

  it('says which feature store to ask when a shard is elsewhere or missing', async () => {
    const client = new ShardRowsClient(new BusClient(bus), 2000);
    await expect(client.read({ ...shards[0], writer: 'store-b' }, 0, 1, DIM)).rejects.toThrow(/no answer from feature store "store-b"/);
    await expect(client.read({ ...shards[1] }, 129, 5, DIM)).rejects.toThrow(/outside shard|returned no rows/);
  });
});
