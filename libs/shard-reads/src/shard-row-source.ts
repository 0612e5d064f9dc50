import type { StoredShardBatch } from '@featx/features';

/** A shard of a feature set, as Postgres records it (feature_shards). */
export interface ShardRef {
  id: string;
  /** The feature store that holds it: reads are addressed to it. */
  writer: string;
  /** Its folder relative to the features dir (feature_shards.path), for direct reads. */
  path: string;
  /** Committed rows: no reader goes past them, whatever the files hold. */
  rows: number;
}

/**
 * Consecutive rows of a shard as stored: float16 features stay bit patterns until they are
 * decoded straight into a batch, so a chunk in flight holds half the bytes.
 */
export interface ShardRows extends Pick<StoredShardBatch, 'start' | 'dtype' | 'features' | 'labels'> {
  rows: number;
  /** The rows' image ids, where the source reads them (the bus client and the shard files do): the trainer's evaluation records each image's prediction. */
  imageIds?: ArrayLike<number>;
}

/** Where shard rows are read from: the feature store over NATS, or (a trainer's option) the shard files. */
export interface ShardRowSource {
  /** Exactly `count` committed rows of `dim` values from `start`, or an error naming the shard. */
  read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows>;
  /**
   * The caller no longer reads `rows`' arrays: memory under them may be reused for a later read
   * (the bus's lent payload buffers). Optional for a source and for a caller; a caller that keeps
   * rows simply never releases them.
   */
  release?(rows: ShardRows): void;
  /** Releases what reading held (open files). */
  close(): Promise<void>;
}
