import { FeatureDtype } from '@featx/contracts';
import { DEFAULT_TRAINER_READ_AHEAD_MB } from '@featx/runtime';
import { fromFloat16 } from '@featx/features';
import { seededRandom, shuffleInPlace } from './random';
import { ShardRef, ShardRows, ShardRowSource } from '@featx/shard-reads';

export interface StreamBatch {
  features: Float32Array;
  labels: Int32Array;
  /** The rows' image ids, where the source reads them (a mirror's is its image's: head auto's cross-validation folds group by them); NaN otherwise. */
  imageIds: Float64Array;
  rows: number;
}

export interface SplitStreamOptions {
  dim: number;
  /** How the shards store values: read-ahead is counted in stored bytes. */
  dtype: FeatureDtype;
  /**
   * Rows per chunk, the unit that is read and shuffled: rows one reply holds at the bus's
   * max_payload (`ShardRowsClient.rowsPerRequest`), whichever source reads them, so an epoch's
   * batches are the same read over the bus or from the files.
   */
  chunkRows: number;
  batchRows: number;
  /** Shuffled: shard chunks in a seeded order per epoch, then a shuffle buffer. Sequential: as stored. */
  order: 'shuffled' | 'sequential';
  seed?: number;
  epoch?: number;
  /** Rows the shuffle buffer may hold (it is also capped at `bufferBytes`). */
  shuffleBufferRows?: number;
  /** Memory the shuffle buffer may take: 64 MiB holds 167 flattened ResNet-50 rows, 13,000 pooled ones. */
  bufferBytes?: number;
  /**
   * Stored bytes of chunk reads in flight ahead of the consumer (at least one chunk): enough
   * replies on their way to hide a request's latency. Default 8 MiB (FEATX_TRAINER_READ_AHEAD_MB).
   */
  readAheadBytes?: number;
  /** Only the rows whose image id it accepts (a validation split held out of the training split); the source must read image ids. Default: every row. */
  keepRow?: (imageId: number) => boolean;
}

/** The configuration's default (FEATX_TRAINER_READ_AHEAD_MB), in bytes. */
export const DEFAULT_READ_AHEAD_BYTES = DEFAULT_TRAINER_READ_AHEAD_MB * 1024 * 1024;

interface Chunk {
  shard: ShardRef;
  start: number;
  count: number;
}

/**
 * One epoch of a split as batches, read from the feature store as it is consumed: at most
 * `readAheadBytes` of chunks and the shuffle buffer are in memory, whatever the split's size.
 * Every row comes exactly once per epoch. float16 rows are decoded once, straight into the batch
 * (shuffled, they wait in the buffer as float16), never into a float32 copy of a whole chunk.
 *
 * A batch stays as it is until the third batch after it is asked for: the stream fills three
 * batches in turn rather than allocating one per batch (a flattened batch is 12.8 MB; allocating
 * and faulting in a fresh one each time cost a quarter of the read path's CPU in garbage
 * collection). Three, not two: a trainer asks for the next batch while a step runs, and the onednn
 * head's next step still reads this one's features in place (`featuresKeptUntilNextStep`). A
 * consumer that keeps batches longer copies them.
 */
export async function* streamSplit(source: ShardRowSource, shards: ShardRef[], options: SplitStreamOptions): AsyncGenerator<StreamBatch> {
  const { dim, batchRows, chunkRows, keepRow } = options;
  if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  const shuffled = options.order === 'shuffled';
  const random = seededRandom(options.seed ?? 0, options.epoch ?? 0);
  const chunks: Chunk[] = [];
  for (const shard of shards) for (let start = 0; start < shard.rows; start += chunkRows) chunks.push({ shard, start, count: Math.min(chunkRows, shard.rows - start) });
  if (shuffled) shuffleInPlace(chunks, random);

  const prefetch = readsInFlight(options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES, chunkRows * dim * (options.dtype === 'float16' ? 2 : 4));
  const pending: Array<Promise<ShardRows>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < prefetch && next < chunks.length) {
      const chunk = chunks[next++];
      const read = source.read(chunk.shard, chunk.start, chunk.count, dim);
      read.catch(() => undefined); // surfaced when awaited
      pending.push(read);
    }
  };

  const capacity = shuffled ? Math.max(1, Math.min(options.shuffleBufferRows ?? 2048, Math.floor((options.bufferBytes ?? 64 * 1024 * 1024) / (dim * 4)))) : 0;
  // Rows wait in the shuffle buffer as they came (float16 stays float16) and are decoded once,
  // into the batch: decoding into the buffer, then copying 4 bytes a value out, moved twice the memory.
  const buffer = new ShuffleSlots(capacity, dim);
  const bufferLabels = new Int32Array(capacity);
  const bufferImageIds = new Float64Array(capacity);
  let buffered = 0;

  const batches = [newBatch(batchRows, dim), newBatch(batchRows, dim), newBatch(batchRows, dim)];
  let filled = 0;
  let batch = batches[0];
  /** Counts a row written into the batch; the batch when that filled it. */
  const added = (label: number, imageId = NaN): StreamBatch | undefined => {
    batch.labels[batch.rows] = label;
    batch.imageIds[batch.rows] = imageId;
    batch.rows += 1;
    if (batch.rows < batchRows) return undefined;
    const full = batch;
    // The next buffer's arrays under a new batch object: the one just yielded keeps its rows while
    // its consumer still steps on it (trainedBatches is one batch ahead of the step).
    const next = batches[++filled % batches.length];
    batch = batches[filled % batches.length] = { ...next, rows: 0 };
    return full;
  };
  const emitBuffered = (k: number): StreamBatch | undefined => {
    buffer.decode(k, batch.features, batch.rows);
    return added(bufferLabels[k], bufferImageIds[k]);
  };

  fill();
  while (pending.length > 0) {
    const rows = await pending.shift()!;
    fill();
    for (let i = 0; i < rows.rows; i++) {
      if (keepRow && !keepRow(imageIdOf(rows, i))) continue;
      let out: StreamBatch | undefined;
      if (!shuffled) {
        decodeRow(rows, i, dim, batch.features, batch.rows);
        out = added(rows.labels[i], rows.imageIds?.[i]);
      } else if (buffered < capacity) {
        buffer.keep(buffered, rows, i);
        bufferImageIds[buffered] = rows.imageIds?.[i] ?? NaN;
        bufferLabels[buffered++] = rows.labels[i];
      } else {
        // Swap a random buffered row out for the incoming one.
        const j = Math.floor(random() * capacity);
        out = emitBuffered(j);
        buffer.keep(j, rows, i);
        bufferLabels[j] = rows.labels[i];
        bufferImageIds[j] = rows.imageIds?.[i] ?? NaN;
      }
      if (out) yield out;
    }
    // Every row is in a batch or the shuffle buffer now, copied: the chunk's memory may serve a later read.
    source.release?.(rows);
  }
  // Drain the buffer in random order.
  const rest = shuffleInPlace(Array.from({ length: buffered }, (_, k) => k), random);
  for (const k of rest) {
    const out = emitBuffered(k);
    if (out) yield out;
  }
  if (batch.rows > 0) yield { features: batch.features.subarray(0, batch.rows * dim), labels: batch.labels.subarray(0, batch.rows), imageIds: batch.imageIds.subarray(0, batch.rows), rows: batch.rows };
}

/** Chunk reads to keep in flight for `readAheadBytes`: at least one. */
export function readsInFlight(readAheadBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(readAheadBytes / chunkBytes));
}

function imageIdOf(rows: ShardRows, row: number): number {
  if (!rows.imageIds) throw new Error('rows chosen by image id need a source that reads image ids');
  return rows.imageIds[row];
}

/** Row `row` of stored rows as float32 into row `at` of `into` (float16 decoded on the way). */
function decodeRow(rows: ShardRows, row: number, dim: number, into: Float32Array, at: number): void {
  const values = rows.features.subarray(row * dim, (row + 1) * dim);
  const target = into.subarray(at * dim, (at + 1) * dim);
  if (values instanceof Uint16Array) fromFloat16(values, target);
  else target.set(values);
}

/** The shuffle buffer's rows, each kept as stored in a slot sized for float32 (a split's shards may differ). */
class ShuffleSlots {
  private readonly floats: Float32Array;
  private readonly halves: Uint16Array;
  private readonly isHalf: Uint8Array;

  constructor(
    capacity: number,
    private readonly dim: number,
  ) {
    const bytes = new ArrayBuffer(capacity * dim * 4);
    this.floats = new Float32Array(bytes);
    this.halves = new Uint16Array(bytes);
    this.isHalf = new Uint8Array(capacity);
  }

  /** Row `row` of `rows` into slot `slot`, as stored. */
  keep(slot: number, rows: ShardRows, row: number): void {
    const { dim } = this;
    const values = rows.features.subarray(row * dim, (row + 1) * dim);
    if (values instanceof Uint16Array) this.halves.set(values, slot * dim * 2);
    else this.floats.set(values, slot * dim);
    this.isHalf[slot] = values instanceof Uint16Array ? 1 : 0;
  }

  /** Slot `slot` as float32 into row `at` of `into`. */
  decode(slot: number, into: Float32Array, at: number): void {
    const { dim } = this;
    const target = into.subarray(at * dim, (at + 1) * dim);
    if (this.isHalf[slot]) fromFloat16(this.halves.subarray(slot * dim * 2, slot * dim * 2 + dim), target);
    else target.set(this.floats.subarray(slot * dim, (slot + 1) * dim));
  }
}

function newBatch(rows: number, dim: number): StreamBatch {
  return { features: new Float32Array(rows * dim), labels: new Int32Array(rows), imageIds: new Float64Array(rows), rows: 0 };
}
