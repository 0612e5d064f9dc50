import type { StoredShardBatch } from '@featx/features';

/** A shard of a feature set, as Postgres records it when the run is prepared. */
export interface ShardRef {
  id: string;
  /** The feature-store replica that holds it. */
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
}

/** Where a trainer reads shard rows from: the feature store over NATS, or the shard files. */
export interface ShardRowSource {
  /** Exactly `count` committed rows of `dim` values from `start`, or an error naming the shard. */
  read(shard: ShardRef, start: number, count: number, dim: number): Promise<ShardRows>;
  /** Releases what reading held (open files). */
  close(): Promise<void>;
}
