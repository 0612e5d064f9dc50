import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { BusClient, BusConnection, connectBus } from '@featx/bus';
import { encodeMessage, FeatureDtype, readShardRequest, shardRowsPerReply } from '@featx/contracts';
import { fromFloat16, ShardWriter, toFloat16 } from '@featx/features';
import { TEST_NATS_URL } from '@featx/testing';
import { startTestServices, TestServices } from './support/test-services';
import { SplitStreamOptions, streamSplit, StreamBatch } from '../apps/trainer/src/data/feature-stream';
import { LocalFirstSource } from '../apps/trainer/src/data/local-first.source';
import { ShardFilesReader } from '../apps/trainer/src/data/shard-files.reader';
import { ShardRef, ShardRowSource, ShardRowsClient, ShardRowsClientOptions } from '@featx/shard-reads';

/**
 * The trainer's data path: rows come from the feature store over NATS request/reply (no shared
 * disk) as stored (float16 at half the bytes), or straight from the shard files on the store's
 * host; an epoch at a time, every row exactly once, reshuffled per epoch, the same batches
 * whichever way they are read.
 */
describe('streaming shard rows from the feature store', () => {
  const DIM = 3000; // 6 KB float16 rows: a 1 MiB reply holds ~170, so reads span several requests
  const RANDOM_DIM = 777; // odd: rows start at every alignment in a reply
  let root: string;
  let featuresDir: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;
  let shards: ShardRef[];
  /** A float16 and a float32 shard of random values, with the float32 values written. */
  const random: Record<FeatureDtype, { shard: ShardRef; written: Float32Array }> = {} as never;

  async function insertShard(setId: string, split: string, index: number, rel: string, rows: number): Promise<ShardRef> {
    const { rows: [shard] } = await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, rows, writer) VALUES ($1, $2, $3, $4, $5, 'store-a') RETURNING id", [setId, split, index, rel, rows]);
    return { id: shard.id, writer: 'store-a', path: rel, rows };
  }

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-stream-')));
    featuresDir = path.join(root, 'features');
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store'],
      env: { FEATX_FEATURES_DIR: featuresDir, FEATX_STORE_ID: 'store-a' },
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
      const writer = await ShardWriter.open(path.join(featuresDir, rel), { dim: DIM, dtype: 'float16' });
      const features = new Float32Array(onDisk * DIM);
      const ids: number[] = [];
      for (let r = 0; r < onDisk; r++, id++) {
        features.fill(id, r * DIM, (r + 1) * DIM); // every value of a row is its image id
        ids.push(id);
      }
      await writer.append({ features, labels: ids.map((i) => i % 3), imageIds: ids });
      await writer.close();
      // The second shard has 10 uncommitted rows on disk: they must never be served.
      shards.push(await insertShard(set.id, 'training', index, rel, rows));
    }
    for (const dtype of ['float16', 'float32'] as const) {
      const rows = 61;
      const rel = `${set.id}/validation/store-a-${dtype}`;
      const written = Float32Array.from({ length: rows * RANDOM_DIM }, (_, i) => Math.sin(i * 12.9898) * 300 * (i % 7 === 0 ? 1e-6 : 1));
      const writer = await ShardWriter.open(path.join(featuresDir, rel), { dim: RANDOM_DIM, dtype });
      await writer.append({ features: written, labels: Array.from({ length: rows }, (_, r) => r % 5), imageIds: Array.from({ length: rows }, (_, r) => 1000 + r) });
      await writer.close();
      random[dtype] = { shard: await insertShard(set.id, 'validation', dtype === 'float16' ? 0 : 1, rel, rows), written };
    }
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const busRows = (options?: ShardRowsClientOptions) => new ShardRowsClient(new BusClient(bus), options);
  const options = (dim: number, dtype: FeatureDtype, rest: Partial<SplitStreamOptions> = {}): SplitStreamOptions => ({
    dim,
    dtype,
    chunkRows: busRows().rowsPerRequest(dim, dtype),
    batchRows: 32,
    order: 'sequential',
    ...rest,
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

  /** Every batch's values and labels, concatenated, for exact comparisons. */
  async function concat(batches: AsyncIterable<StreamBatch>) {
    const features: Buffer[] = [];
    const labels: number[] = [];
    for await (const batch of batches) {
      // A copy: the stream refills its batches (valid until the one after the next).
      features.push(Buffer.from(new Uint8Array(batch.features.buffer, batch.features.byteOffset, batch.features.byteLength)));
      labels.push(...batch.labels);
    }
    return { features: Buffer.concat(features), labels };
  }

  /** An epoch in short: its labels and a hash of its values, bit for bit. */
  async function digest(batches: AsyncIterable<StreamBatch>) {
    const { features, labels } = await concat(batches);
    return { bytes: features.byteLength, sha256: createHash('sha256').update(features).digest('hex'), labels };
  }

  const committed = () => [...Array.from({ length: 250 }, (_, i) => i + 1), ...Array.from({ length: 130 }, (_, i) => i + 251)];

  it('reads a split in stored order, committed rows only', async () => {
    const client = busRows();
    expect(client.rowsPerRequest(DIM, 'float16')).toBeLessThan(250);
    const order = await collect(streamSplit(client, shards, options(DIM, 'float16')));
    expect(order).toEqual(committed());
  });

  it('serves labels and image ids without the features when asked (features: false), as many rows as fit without them', async () => {
    const reply = await new BusClient(bus).request(readShardRequest, { v: 2, shardId: shards[0].id, start: 0, count: 250, features: false }, { address: shards[0].writer });
    expect(reply).toMatchObject({ v: 2, rows: 250, dim: DIM, start: 0 });
    expect(reply.features.byteLength).toBe(0);
    expect(reply.imageIds).toHaveLength(250);
    const full = await new BusClient(bus).request(readShardRequest, { v: 2, shardId: shards[0].id, start: 0, count: 250 }, { address: shards[0].writer });
    expect(full.rows).toBeLessThan(250); // with features, one reply holds fewer
    expect(reply.labels.slice(0, full.rows)).toEqual(full.labels);
    expect(reply.imageIds.slice(0, full.rows)).toEqual(full.imageIds);
  });

  it('reshuffles every epoch, the same way for the same seed, each row exactly once', async () => {
    const client = busRows();
    const epoch = (n: number, seed = 7) => collect(streamSplit(client, shards, options(DIM, 'float16', { order: 'shuffled', seed, epoch: n, bufferBytes: 40 * DIM * 4 })));
    const [a, b, again] = [await epoch(0), await epoch(1), await epoch(0)];
    for (const order of [a, b]) expect([...order].sort((x, y) => x - y)).toEqual(committed());
    expect(a).not.toEqual(b);
    expect(a).toEqual(again);
    expect(a).not.toEqual(committed());
  });

  it('delivers float16 shards over the bus as exactly the stored halves widened, float32 as written', async () => {
    for (const dtype of ['float16', 'float32'] as const) {
      const { shard, written } = random[dtype];
      // Chunks of 7 rows and batches of 5: rows start at every offset of a reply and a batch.
      const got = await concat(streamSplit(busRows(), [shard], { ...options(RANDOM_DIM, dtype), chunkRows: 7, batchRows: 5 }));
      const expected = dtype === 'float16' ? fromFloat16(toFloat16(written)) : written;
      expect(got.features.equals(Buffer.from(expected.buffer))).toBe(true);
      expect(got.labels).toEqual(Array.from({ length: 61 }, (_, r) => r % 5));
    }
  });

  it('sends v2 replies as stored and v1 replies as float32, never over max_payload', async () => {
    const client = new BusClient(bus);
    const shard = shards[0];
    const v2 = await client.request(readShardRequest, { v: 2, shardId: shard.id, start: 0, count: 250 }, { address: 'store-a' });
    const v1 = await client.request(readShardRequest, { v: 1, shardId: shard.id, start: 0, count: 250 }, { address: 'store-a' });
    expect(v2).toMatchObject({ v: 2, dtype: 'float16', rows: shardRowsPerReply(client.maxPayload, DIM, 'float16') });
    expect(v1).toMatchObject({ v: 1, rows: shardRowsPerReply(client.maxPayload, DIM, 'float32') });
    expect(v2.rows).toBeGreaterThan(v1.rows);
    for (const reply of [v1, v2]) {
      expect(encodeMessage(reply).byteLength).toBeLessThanOrEqual(client.maxPayload);
      // Filled: one more row would not fit.
      expect(encodeMessage(reply).byteLength + reply.features.byteLength / reply.rows).toBeGreaterThan(client.maxPayload - 32 * 1024);
    }
    expect(v2.features.byteLength).toBe(v2.rows * DIM * 2);
    expect(new Float32Array(v1.features.slice().buffer)[DIM * 5]).toBe(6);
    expect(fromFloat16(new Uint16Array(v2.features.slice().buffer))[DIM * 5]).toBe(6);
  });

  it('reads the same epochs from the shard files as over the bus (direct and auto), committed rows only', async () => {
    const sources: Record<string, () => ShardRowSource> = {
      bus: () => busRows(),
      direct: () => new ShardFilesReader(featuresDir),
      auto: () => new LocalFirstSource(featuresDir, new ShardFilesReader(featuresDir), busRows()),
    };
    const epochs: Record<string, unknown[]> = {};
    for (const [name, open] of Object.entries(sources)) {
      const source = open();
      epochs[name] = [
        await digest(streamSplit(source, shards, options(DIM, 'float16'))),
        await digest(streamSplit(source, shards, options(DIM, 'float16', { order: 'shuffled', seed: 3, epoch: 1, bufferBytes: 40 * DIM * 4 }))),
        await digest(streamSplit(source, [random.float16.shard, random.float32.shard], options(RANDOM_DIM, 'float16', { order: 'shuffled', seed: 5, epoch: 2 }))),
      ];
      await source.close();
    }
    expect(epochs.direct[0]).toMatchObject({ bytes: 380 * DIM * 4 });
    expect(epochs.direct).toEqual(epochs.bus);
    expect(epochs.auto).toEqual(epochs.bus);
  });

  it('auto reads shards it has no files for over the bus', async () => {
    const elsewhere = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-elsewhere-')));
    try {
      const auto = new LocalFirstSource(elsewhere, new ShardFilesReader(elsewhere), busRows());
      expect(await collect(streamSplit(auto, shards, options(DIM, 'float16')))).toEqual(committed());
      await auto.close();
    } finally {
      await fs.rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('says which feature store or shard files to look at when a shard is elsewhere, missing or short', async () => {
    const client = busRows({ timeoutMs: 2000, maxWaitMs: 1000 });
    await expect(client.read({ ...shards[0], writer: 'store-b' }, 0, 1, DIM)).rejects.toThrow(/feature store "store-b" has not answered for 1 s \(no answer for shard .*\); gave up/);
    await expect(client.read({ ...shards[1] }, 129, 5, DIM)).rejects.toThrow(/outside shard|returned no rows/);
    const files = new ShardFilesReader(featuresDir);
    await expect(files.read({ ...shards[0], path: 'nowhere/training/store-a-0' }, 0, 1, DIM)).rejects.toThrow(new RegExp(`shard ${shards[0].id} \\(feature store "store-a"\\) cannot be read directly from ${featuresDir}/nowhere`));
    await expect(files.read(shards[1], 129, 5, DIM)).rejects.toThrow(`rows 129 to 134 are outside shard ${shards[1].id} (130 committed rows)`);
    await expect(files.read({ ...shards[0], rows: 300 }, 0, 1, DIM)).rejects.toThrow(/holds 250 rows, fewer than the 300/);
    await expect(files.read(shards[0], 0, 1, 12)).rejects.toThrow(`shard ${shards[0].id} has 3000 values per row, expected 12`);
    await files.close();
  });
});
