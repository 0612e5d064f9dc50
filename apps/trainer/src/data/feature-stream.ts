import { seededRandom, shuffleInPlace } from './random';
import { ShardRef, ShardRows, ShardRowsClient } from './shard-rows.client';

export interface StreamBatch {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
}

export interface SplitStreamOptions {
  dim: number;
  batchRows: number;
  /** Shuffled: shard chunks in a seeded order per epoch, then a shuffle buffer. Sequential: as stored. */
  order: 'shuffled' | 'sequential';
  seed?: number;
  epoch?: number;
  /** Rows the shuffle buffer may hold (it is also capped at `bufferBytes`). */
  shuffleBufferRows?: number;
  /** Memory the shuffle buffer may take: 64 MiB holds 167 flattened ResNet-50 rows, 13,000 pooled ones. */
  bufferBytes?: number;
  /** Chunk reads in flight ahead of the consumer; default enough for about 8 MiB, so request latency is hidden. */
  prefetch?: number;
}

interface Chunk {
  shard: ShardRef;
  start: number;
  count: number;
}

/**
 * One epoch of a split as batches, read from the feature store as it is consumed: at most
 * `prefetch` chunks and the shuffle buffer are in memory, whatever the split's size. Every row
 * comes exactly once per epoch.
 */
export async function* streamSplit(client: ShardRowsClient, shards: ShardRef[], options: SplitStreamOptions): AsyncGenerator<StreamBatch> {
  const { dim, batchRows } = options;
  const shuffled = options.order === 'shuffled';
  const random = seededRandom(options.seed ?? 0, options.epoch ?? 0);
  const chunkRows = client.rowsPerRequest(dim);
  const chunks: Chunk[] = [];
  for (const shard of shards) for (let start = 0; start < shard.rows; start += chunkRows) chunks.push({ shard, start, count: Math.min(chunkRows, shard.rows - start) });
  if (shuffled) shuffleInPlace(chunks, random);

  const prefetch = Math.max(1, options.prefetch ?? Math.ceil((8 * 1024 * 1024) / (chunkRows * dim * 4)));
  const pending: Array<Promise<ShardRows>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < prefetch && next < chunks.length) {
      const chunk = chunks[next++];
      const read = client.read(chunk.shard, chunk.start, chunk.count, dim);
      read.catch(() => undefined); // surfaced when awaited
      pending.push(read);
    }
  };

  const capacity = shuffled ? Math.max(1, Math.min(options.shuffleBufferRows ?? 2048, Math.floor((options.bufferBytes ?? 64 * 1024 * 1024) / (dim * 4)))) : 0;
  const buffer = new Float32Array(capacity * dim);
  const bufferLabels = new Int32Array(capacity);
  let buffered = 0;

  let batch = newBatch(batchRows, dim);
  const emitRow = (source: Float32Array, offset: number, label: number): StreamBatch | undefined => {
    batch.features.set(source.subarray(offset * dim, (offset + 1) * dim), batch.rows * dim);
    batch.labels[batch.rows] = label;
    batch.rows += 1;
    if (batch.rows < batchRows) return undefined;
    const full = batch;
    batch = newBatch(batchRows, dim);
    return full;
  };

  fill();
  while (pending.length > 0) {
    const rows = await pending.shift()!;
    fill();
    for (let i = 0; i < rows.rows; i++) {
      let out: StreamBatch | undefined;
      if (!shuffled) {
        out = emitRow(rows.features, i, rows.labels[i]);
      } else if (buffered < capacity) {
        buffer.set(rows.features.subarray(i * dim, (i + 1) * dim), buffered * dim);
        bufferLabels[buffered++] = rows.labels[i];
      } else {
        // Swap a random buffered row out for the incoming one.
        const j = Math.floor(random() * capacity);
        out = emitRow(buffer, j, bufferLabels[j]);
        buffer.set(rows.features.subarray(i * dim, (i + 1) * dim), j * dim);
        bufferLabels[j] = rows.labels[i];
      }
      if (out) yield out;
    }
  }
  // Drain the buffer in random order.
  const rest = shuffleInPlace(Array.from({ length: buffered }, (_, k) => k), random);
  for (const k of rest) {
    const out = emitRow(buffer, k, bufferLabels[k]);
    if (out) yield out;
  }
  if (batch.rows > 0) yield { features: batch.features.subarray(0, batch.rows * dim), labels: batch.labels.subarray(0, batch.rows), rows: batch.rows };
}

function newBatch(rows: number, dim: number): StreamBatch {
  return { features: new Float32Array(rows * dim), labels: new Int32Array(rows), rows: 0 };
}
