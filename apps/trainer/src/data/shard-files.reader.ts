import { ShardReader, ShardReaderCache, shardDir } from '@featx/features';
import { ShardRef, ShardRows, ShardRowSource } from '@featx/shard-reads';

/** Shards a stream reads at once are few; past this many the least recently read is closed. */
const MAX_OPEN_SHARDS = 16;

/**
 * Reads shard rows straight from the shard files, for a trainer on the feature store's host (or
 * sharing its disk): no request, reply or copy through NATS. Only the rows Postgres records as
 * committed are read, as the feature store serves them.
 */
export class ShardFilesReader implements ShardRowSource {
  /** The shards asked for, by id, so the reader cache can open them. */
  private readonly shards = new Map<string, ShardRef>();
  private readonly readers = new ShardReaderCache({ maxOpen: MAX_OPEN_SHARDS, open: (shardId) => this.open(this.shards.get(shardId)!) });

  constructor(private readonly featuresDir: string) {}

  async read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows> {
    this.shards.set(shard.id, shard);
    const reader = await this.readers.reader(shard.id, shard.rows);
    if (reader.dim !== dim) throw new Error(`shard ${shard.id} has ${reader.dim} values per row, expected ${dim}`);
    if (start + count > reader.rows) throw new Error(`rows ${start} to ${start + count} are outside shard ${shard.id} (${reader.rows} committed rows)`);
    const stored = await reader.readStored(start, count);
    return { start, rows: count, dtype: stored.dtype, features: stored.features, labels: stored.labels, imageIds: Float64Array.from(stored.imageIds, Number) };
  }

  close(): Promise<void> {
    return this.readers.close();
  }

  private async open(shard: ShardRef): Promise<ShardReader> {
    const dir = shardDir(this.featuresDir, shard.path);
    return ShardReader.open(dir, { rows: shard.rows }).catch((error: Error) => {
      throw new Error(`shard ${shard.id} (feature store "${shard.writer}") cannot be read directly from ${dir}: ${error.message}`);
    });
  }
}
