import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BusClient, PermanentError } from '@featx/bus';
import { featureBatch, featureSetProgressEvent, MessageOf, Split } from '@featx/contracts';
import { FeatureSetNotFoundError, FeatureSetRow, FeatureSetsRepository, FeatureShardRow, Transaction } from '@featx/db';
import { shardDir, shardPath, ShardWriter } from '@featx/features';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';

type FeatureBatch = MessageOf<typeof featureBatch>;

const PROGRESS_EVENT_EVERY_MS = 2000;

/**
 * Test hook, off by default (used by test/faults): FEATX_FAULT_CRASH_AFTER_APPEND=<n> kills this
 * process with SIGKILL right after its n-th shard append, before the database commit.
 */
const CRASH_AFTER_APPEND = Number(process.env.FEATX_FAULT_CRASH_AFTER_APPEND ?? 0);
let appends = 0;

export interface StoreOutcome {
  stored: number;
  duplicates: number;
  failed: number;
  set: FeatureSetRow;
}

/**
 * Appends feature batches to NumPy shards, exactly once per (feature set, image).
 *
 * Each batch is stored inside one Postgres transaction that holds the feature set's row lock:
 * already-stored images are dropped, the rest are appended to the shard files and fsync'ed, then
 * their locations and the shard's committed length are recorded, and the transaction commits
 * before the message is acked. A crash after the append but before the commit leaves rows past
 * the committed length; reopening a shard cuts them off, and the redelivered batch writes them again.
 */
@Injectable()
export class FeatureBatchStore implements OnApplicationShutdown {
  private readonly writers = new Map<string, ShardWriter>();
  private readonly lastProgressEvent = new Map<string, number>();

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly client: BusClient,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async store(batch: FeatureBatch): Promise<StoreOutcome> {
    const touched = new Set<string>();
    try {
      const outcome = await this.featureSets.withSetLock(batch.featureSetId, (tx, set) => this.storeLocked(tx, set, batch, touched));
      await this.announce(outcome.set);
      return outcome;
    } catch (error) {
      // Files may now hold rows the database does not: reopen (and so truncate) those shards next time.
      for (const shardId of touched) await this.closeWriter(shardId);
      if (error instanceof FeatureSetNotFoundError) throw new PermanentError(error.message);
      throw error;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const shardId of [...this.writers.keys()]) await this.closeWriter(shardId);
  }

  private async storeLocked(tx: Transaction, set: FeatureSetRow, batch: FeatureBatch, touched: Set<string>): Promise<StoreOutcome> {
    if (batch.dtype !== set.dtype) throw new PermanentError(`batch dtype ${batch.dtype} does not match feature set ${set.id} (${set.dtype})`);
    if (set.dim !== null && batch.dim !== set.dim) throw new PermanentError(`batch dim ${batch.dim} does not match feature set ${set.id} (${set.dim})`);

    const alreadyStored = await this.featureSets.storedAmong(tx, set.id, batch.imageIds);
    const fresh: number[] = []; // indices into the batch
    const seen = new Set<number>();
    batch.imageIds.forEach((imageId, i) => {
      if (!alreadyStored.has(imageId) && !seen.has(imageId)) fresh.push(i);
      seen.add(imageId);
    });

    const vectors = typedVectors(batch);
    const bySplit = new Map<Split, number[]>();
    for (const i of fresh) {
      const split = batch.splits[i];
      bySplit.set(split, [...(bySplit.get(split) ?? []), i]);
    }
    const { storeId } = this.config.features;
    for (const [split, rows] of bySplit) {
      const shard = await this.featureSets.openShard(tx, set.id, split, storeId, (index) => shardPath({ featureSetId: set.id, split, storeId, index }));
      touched.add(shard.id);
      const writer = await this.writerFor(shard, batch);
      const features = new (vectors.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rows.length * batch.dim);
      rows.forEach((row, k) => features.set(vectors.subarray(row * batch.dim, (row + 1) * batch.dim), k * batch.dim));
      const imageIds = rows.map((row) => batch.imageIds[row]);
      await writer.append({ features, labels: Int32Array.from(rows.map((row) => batch.labels[row])), imageIds });
      if (CRASH_AFTER_APPEND > 0 && ++appends === CRASH_AFTER_APPEND) process.kill(process.pid, 'SIGKILL');
      await this.featureSets.recordAppend(tx, shard, imageIds, writer.bytes);
      if (shard.rows >= this.config.features.shardMaxRows) {
        const sealed = await writer.seal();
        await this.featureSets.sealShard(tx, shard, sealed.sha256, sealed.bytes);
        await this.closeWriter(shard.id);
      }
    }

    const storedIds = fresh.map((i) => batch.imageIds[i]);
    const cleared = await this.featureSets.clearFailures(tx, set.id, storedIds);
    const storedNow = new Set([...alreadyStored, ...storedIds]);
    const failed = await this.featureSets.recordFailures(tx, set.id, batch.failures.filter((f) => !storedNow.has(f.imageId)));
    const updated = await this.featureSets.addCounts(tx, set, { stored: storedIds.length, failed: failed - cleared, dim: batch.dim });
    return { stored: storedIds.length, duplicates: batch.imageIds.length - storedIds.length, failed, set: updated };
  }

  private async writerFor(shard: FeatureShardRow, batch: FeatureBatch): Promise<ShardWriter> {
    const cached = this.writers.get(shard.id);
    if (cached) return cached;
    // Opening with the committed row count cuts off whatever a crash left past it.
    const writer = await ShardWriter.open(shardDir(this.config.features.dir, shard.path), { dim: batch.dim, dtype: batch.dtype, committedRows: shard.rows });
    this.writers.set(shard.id, writer);
    return writer;
  }

  private async closeWriter(shardId: string): Promise<void> {
    const writer = this.writers.get(shardId);
    this.writers.delete(shardId);
    await writer?.close().catch(() => undefined);
  }

  private async announce(set: FeatureSetRow): Promise<void> {
    const now = Date.now();
    if (set.status === 'running' && now - (this.lastProgressEvent.get(set.id) ?? 0) < PROGRESS_EVENT_EVERY_MS) return;
    this.lastProgressEvent.set(set.id, now);
    if (set.status === 'complete') this.logger.info('feature set complete', { featureSetId: set.id, stored: set.stored, failed: set.failed });
    await this.client.dispatch(featureSetProgressEvent, { v: 1, featureSetId: set.id, images: set.images, stored: set.stored, failed: set.failed, status: set.status }).catch(() => undefined);
  }
}

/** The batch's vectors as float32 or raw float16 values, copied when the bytes are not aligned. */
function typedVectors(batch: FeatureBatch): Float32Array | Uint16Array {
  const width = batch.dtype === 'float16' ? 2 : 4;
  const bytes = batch.vectors.byteOffset % width === 0 ? batch.vectors : batch.vectors.slice();
  const count = bytes.byteLength / width;
  return width === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : new Float32Array(bytes.buffer, bytes.byteOffset, count);
}
