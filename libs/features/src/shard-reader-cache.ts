import { ShardError } from './errors';
import type { ShardReader } from './shard-reader';

export interface ShardReaderCacheOptions {
  /** Readers kept open at most; past it the least recently used is closed. */
  maxOpen: number;
  /**
   * Opens a reader of the shard's committed rows (e.g. looks up its folder and row count, then
   * `ShardReader.open(shardDir(...), { rows })`). Its rejection is passed to the caller and not cached.
   */
  open(shardId: string): Promise<ShardReader>;
}

/**
 * Open shard readers by shard id, for a server answering many small reads: training reads the
 * same few shards epoch after epoch, so files are opened once, not per request. Concurrent asks
 * for one shard share one opening; a reader is reopened once the shard has grown past the rows
 * it was opened with.
 */
export class ShardReaderCache {
  /** Promises, so that concurrent asks share one opening; in use order, least recent first. */
  private readonly readers = new Map<string, Promise<ShardReader>>();
  private closed = false;

  constructor(private readonly options: ShardReaderCacheOptions) {
    if (!Number.isSafeInteger(options.maxOpen) || options.maxOpen < 1) {
      throw new ShardError(`maxOpen must be a positive integer, got ${options.maxOpen}`);
    }
  }

  /** Readers open or opening now. */
  get size(): number {
    return this.readers.size;
  }

  /**
   * A reader of the shard holding at least `rowsNeeded` rows where the shard has committed them:
   * a cached reader with fewer is closed and the shard opened again (the fresh reader may still
   * hold fewer, when the shard has no more; the caller checks `reader.rows`).
   */
  async reader(shardId: string, rowsNeeded: number): Promise<ShardReader> {
    if (this.closed) throw new ShardError('the shard reader cache is closed');
    if (!Number.isSafeInteger(rowsNeeded) || rowsNeeded < 0) throw new ShardError(`rowsNeeded must be a non-negative integer, got ${rowsNeeded}`);
    const cached = this.readers.get(shardId);
    if (cached) {
      // An opening that fails fails every ask waiting on it; it is not kept for later asks.
      const reader = await cached;
      if (reader.rows >= rowsNeeded) {
        this.markUsed(shardId, cached);
        return reader;
      }
      // Grown since: drop it, unless a concurrent ask already replaced it.
      if (this.readers.get(shardId) === cached) {
        this.readers.delete(shardId);
        await reader.close().catch(() => undefined);
      }
    }
    let opening = this.readers.get(shardId);
    if (opening) {
      this.markUsed(shardId, opening);
    } else {
      const started = this.options.open(shardId);
      opening = started;
      started.catch(() => {
        if (this.readers.get(shardId) === started) this.readers.delete(shardId);
      });
      this.readers.set(shardId, started);
      await this.evict();
    }
    return opening;
  }

  /** Closes every reader; later asks are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(all.map((entry) => closeEntry(entry)));
  }

  private markUsed(shardId: string, entry: Promise<ShardReader>): void {
    if (this.readers.get(shardId) !== entry) return;
    this.readers.delete(shardId);
    this.readers.set(shardId, entry);
  }

  private async evict(): Promise<void> {
    while (this.readers.size > this.options.maxOpen) {
      const [oldest, entry] = this.readers.entries().next().value as [string, Promise<ShardReader>];
      this.readers.delete(oldest);
      await closeEntry(entry);
    }
  }
}

async function closeEntry(entry: Promise<ShardReader>): Promise<void> {
  await entry.then((reader) => reader.close()).catch(() => undefined);
}
