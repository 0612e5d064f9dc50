import { shardRowsPerReply } from '@featx/contracts';
import { fromFloat16, toFloat16 } from '@featx/features';
import { readsInFlight, StreamBatch, streamSplit } from './feature-stream';
import { ShardRef, ShardRows, ShardRowSource } from '@featx/shard-reads';

const DIM = 9;

/** Shards held in memory as float16, read after a tick; counts the reads in flight. */
class MemorySource implements ShardRowSource {
  inFlight = 0;
  mostInFlight = 0;
  reads = 0;

  constructor(private readonly halves: Map<string, Uint16Array>) {}

  async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    this.reads++;
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
    const features = this.halves.get(shard.id)!.slice(start * dim, (start + count) * dim);
    return { start, rows: count, dtype: 'float16', features, labels: Int32Array.from({ length: count }, (_, r) => start + r), imageIds: Float64Array.from({ length: count }, (_, r) => 1000 + start + r) };
  }

  async close(): Promise<void> {}
}

/**
 * Like the bus: each read's rows in memory lent for it, given back by `release` and then reused
 * at once. Released memory is overwritten with NaN halves, so a row read after its release shows.
 */
class LendingSource extends MemorySource {
  private readonly idle: Uint16Array[] = [];
  released = 0;

  override async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    const rows = await super.read(shard, start, count, dim);
    const lent = this.idle.pop() ?? new Uint16Array(64 * dim);
    lent.set(rows.features);
    return { ...rows, features: lent.subarray(0, count * dim) };
  }

  release(rows: ShardRows): void {
    const features = rows.features as Uint16Array;
    const whole = new Uint16Array(features.buffer);
    whole.fill(0x7e00);
    this.idle.push(whole);
    this.released++;
  }
}

describe('streamSplit', () => {
  const values = Float32Array.from({ length: 100 * DIM }, (_, i) => Math.cos(i) * 50);
  const shard: ShardRef = { id: 's', writer: 'store', path: 'set/training/store-00000', rows: 100 };

  it('decodes float16 rows straight into batches, in stored order, with their image ids', async () => {
    const source = new MemorySource(new Map([['s', toFloat16(values)]]));
    const batches = [];
    const seen = new Set<Float32Array>();
    for await (const batch of streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order: 'sequential' })) {
      if (batch.rows === 8) seen.add(batch.features);
      batches.push({ rows: batch.rows, features: batch.features.slice(), labels: batch.labels.slice(0, batch.rows), imageIds: batch.imageIds.slice(0, batch.rows) });
    }
    // Three batch buffers filled in turn, not one allocation per batch.
    expect(seen.size).toBe(3);
    expect(batches.map((b) => b.rows)).toEqual([...Array(12).fill(8), 4]);
    const features = new Float32Array(batches.flatMap((b) => Array.from(b.features)));
    expect(features).toEqual(fromFloat16(toFloat16(values)));
    expect(batches.flatMap((b) => Array.from(b.labels))).toEqual(Array.from({ length: 100 }, (_, r) => r));
    expect(batches.flatMap((b) => Array.from(b.imageIds))).toEqual(Array.from({ length: 100 }, (_, r) => 1000 + r));
  });

  it('keeps each row\'s image id with it through the shuffle buffer', async () => {
    const source = new MemorySource(new Map([['s', toFloat16(values)]]));
    const pairs: Array<[number, number]> = [];
    for await (const batch of streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order: 'shuffled', seed: 5 })) {
      for (let r = 0; r < batch.rows; r++) pairs.push([batch.labels[r], batch.imageIds[r]]);
    }
    // Shuffled, every row once, and row r (label r) still carries image 1000 + r.
    expect(pairs.map(([label]) => label)).not.toEqual(Array.from({ length: 100 }, (_, r) => r));
    expect(pairs.map(([label]) => label).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, r) => r));
    for (const [label, id] of pairs) expect(id).toBe(1000 + label);
  });

  it('streams only the rows whose image id keepRow accepts, each once with its own values, in either order', async () => {
    const held = new Set([1003, 1010, 1011, 1050, 1099]);
    const decoded = fromFloat16(toFloat16(values));
    for (const order of ['sequential', 'shuffled'] as const) {
      const kept: number[] = [];
      for (const keepRow of [(id: number) => held.has(id), (id: number) => !held.has(id)]) {
        const source = new MemorySource(new Map([['s', toFloat16(values)]]));
        const ids: number[] = [];
        for await (const batch of streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order, seed: 4, keepRow })) {
          for (let r = 0; r < batch.rows; r++) {
            const row = batch.imageIds[r] - 1000;
            ids.push(batch.imageIds[r]);
            expect(batch.labels[r]).toBe(row);
            expect(batch.features.subarray(r * DIM, (r + 1) * DIM)).toEqual(decoded.subarray(row * DIM, (row + 1) * DIM));
          }
        }
        expect(ids.every(keepRow)).toBe(true);
        kept.push(...ids);
      }
      // The two filters split the shard: every row in exactly one of them.
      expect(kept.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, r) => 1000 + r));
    }
  });

  it('refuses to choose rows by image id from a source that does not read them', async () => {
    const source = new MemorySource(new Map([['s', toFloat16(values)]]));
    const withoutIds: ShardRowSource = { read: async (...args) => ({ ...(await source.read(...args)), imageIds: undefined }), close: async () => undefined };
    await expect(streamSplit(withoutIds, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order: 'sequential', keepRow: () => true }).next()).rejects.toThrow('rows chosen by image id need a source that reads image ids');
  });

  it('leaves a yielded batch whole (rows, features, labels) until the third batch after it is asked for', async () => {
    for (const order of ['sequential', 'shuffled'] as const) {
      const source = new MemorySource(new Map([['s', toFloat16(values)]]));
      const iterator = streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order, seed: 3 });
      const held: Array<{ batch: StreamBatch; copy: { rows: number; features: Float32Array; labels: Int32Array } }> = [];
      for (let next = await iterator.next(); ; next = await iterator.next()) {
        // trainedBatches asks for the next batch while a step runs, and that step may still read
        // the batch before its own (featuresKeptUntilNextStep): the last two yielded stay whole.
        for (const { batch, copy } of held) {
          expect(batch.rows).toBe(copy.rows);
          expect(batch.features).toEqual(copy.features);
          expect(batch.labels).toEqual(copy.labels);
        }
        if (next.done) break;
        held.push({ batch: next.value, copy: { rows: next.value.rows, features: next.value.features.slice(), labels: next.value.labels.slice() } });
        if (held.length > 2) held.shift();
      }
    }
  });

  it('gives each read\'s rows back to the source once every row is copied, never while one is still to be read', async () => {
    for (const order of ['sequential', 'shuffled'] as const) {
      const source = new LendingSource(new Map([['s', toFloat16(values)]]));
      const rows = new Map<number, Float32Array>();
      for await (const batch of streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 7, batchRows: 8, order, seed: 9, shuffleBufferRows: 20 })) {
        for (let r = 0; r < batch.rows; r++) rows.set(batch.labels[r], batch.features.slice(r * DIM, (r + 1) * DIM));
      }
      // Every chunk given back (15 of 7 rows), and every row as stored: none read after its memory was reused.
      expect(source.released).toBe(15);
      const expected = fromFloat16(toFloat16(values));
      expect(rows.size).toBe(100);
      for (const [label, row] of rows) expect(row).toEqual(expected.subarray(label * DIM, (label + 1) * DIM));
    }
  });

  it('keeps as many chunk reads in flight as readAheadBytes of stored rows take', async () => {
    const chunkBytes = 5 * DIM * 2;
    for (const [readAheadBytes, expected] of [
      [1, 1],
      [chunkBytes, 1],
      [chunkBytes + 1, 2],
      [4 * chunkBytes, 4],
    ]) {
      const source = new MemorySource(new Map([['s', toFloat16(values)]]));
      let rows = 0;
      for await (const batch of streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 5, batchRows: 32, order: 'shuffled', readAheadBytes })) rows += batch.rows;
      expect({ rows, reads: source.reads, mostInFlight: source.mostInFlight }).toEqual({ rows: 100, reads: 20, mostInFlight: expected });
      expect(readsInFlight(readAheadBytes, chunkBytes)).toBe(expected);
    }
  });

  it('refuses a chunk plan without rows', async () => {
    const source = new MemorySource(new Map());
    await expect(streamSplit(source, [shard], { dim: DIM, dtype: 'float16', chunkRows: 0, batchRows: 8, order: 'sequential' }).next()).rejects.toThrow('chunkRows must be a positive integer, got 0');
  });
});

describe('shardRowsPerReply', () => {
  it('counts rows by their stored bytes, leaving room for the envelope, at least one', () => {
    // 1 MiB, 62,720 float16 values (flattened MobileNetV2): 8 rows of 125,472 bytes; float32: 4.
    expect(shardRowsPerReply(1024 * 1024, 62720, 'float16')).toBe(8);
    expect(shardRowsPerReply(1024 * 1024, 62720, 'float32')).toBe(4);
    expect(shardRowsPerReply(8 * 1024 * 1024, 100352, 'float16')).toBe(41);
    expect(shardRowsPerReply(64 * 1024, 100352, 'float16')).toBe(1);
    const rows = shardRowsPerReply(1024 * 1024, 1280, 'float16');
    expect(16 * 1024 + rows * (1280 * 2 + 32)).toBeLessThanOrEqual(1024 * 1024);
    expect(16 * 1024 + (rows + 1) * (1280 * 2 + 32)).toBeGreaterThan(1024 * 1024);
  });
});
