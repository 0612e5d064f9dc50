import type { FeatureDtype } from '@featx/contracts';
import type { ShardRef, ShardRows } from './shard-row-source';
import type { ShardRowsClient } from './shard-rows.client';

/** The first `rows` rows of a shard (its committed rows, or fewer: an export's snapshot). */
export interface ShardPart {
  shard: ShardRef;
  rows: number;
}

export interface RowsInOrderOptions {
  dim: number;
  dtype: FeatureDtype;
  /** Stored bytes of requests in flight ahead of the consumer (at least one request); default 16 MiB. */
  readAheadBytes?: number;
  /** false: labels and image ids only, in requests of as many rows as fit without features. */
  features?: boolean;
}

export const DEFAULT_ORDERED_READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The parts' rows in order, shard after shard, one reply's worth at a time: several requests are
 * in flight (to whichever stores hold the shards) and their answers are yielded in order. A read
 * that fails (a store silent past the client's limit) ends the iteration with its error.
 */
export async function* rowsInOrder(client: ShardRowsClient, parts: readonly ShardPart[], options: RowsInOrderOptions): AsyncGenerator<ShardRows> {
  const { dim, dtype } = options;
  const read = { features: options.features };
  const chunkRows = client.rowsPerRequest(dim, dtype, read);
  const chunkBytes = chunkRows * ((options.features === false ? 0 : dim * (dtype === 'float16' ? 2 : 4)) + 12);
  const inFlight = Math.max(1, Math.floor((options.readAheadBytes ?? DEFAULT_ORDERED_READ_AHEAD_BYTES) / chunkBytes));
  const chunks: Array<{ shard: ShardRef; start: number; count: number }> = [];
  for (const part of parts) for (let start = 0; start < part.rows; start += chunkRows) chunks.push({ shard: part.shard, start, count: Math.min(chunkRows, part.rows - start) });

  const pending: Array<Promise<ShardRows>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < inFlight && next < chunks.length) {
      const chunk = chunks[next++]!;
      const rows = client.read(chunk.shard, chunk.start, chunk.count, dim, read);
      rows.catch(() => undefined); // surfaced when awaited; ignored once the consumer has stopped
      pending.push(rows);
    }
  };
  fill();
  while (pending.length > 0) {
    const rows = await pending.shift()!;
    fill();
    yield rows;
  }
}
