import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BusClient, PermanentError } from '@featx/bus';
import { Augment, featureBatch, featureSetProgressEvent, MessageOf, Split } from '@featx/contracts';
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

/**
 * The most vector bytes one group commit takes (the rest waits for the next group): enough that
 * the per-transaction and per-fdatasync costs are shared by many batches, little enough to bound
 * the memory a group copies into its shard append. About 50 of the extractors' 64-vector batches
 * (1,280 float16 values): fewer than the 128 the consumer takes at once, so that the next group
 * gathers while one commits.
 */
const MAX_GROUP_VECTOR_BYTES = 8 * 1024 * 1024;

interface WaitingBatch {
  batch: FeatureBatch;
  resolve: (outcome: StoreOutcome) => void;
  reject: (error: unknown) => void;
}

/** Takes from the front of `queue` the batches of the next group: at least one, then up to `maxBytes` of vectors. */
function takeGroup(queue: WaitingBatch[], maxBytes: number): WaitingBatch[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && (count === 0 || bytes + queue[count]!.batch.vectors.byteLength <= maxBytes)) {
    bytes += queue[count]!.batch.vectors.byteLength;
    count += 1;
  }
  return queue.splice(0, count);
}

export interface StoreOutcome {
  stored: number;
  duplicates: number;
  failed: number;
  set: FeatureSetRow;
}

/**
 * Appends feature batches to NumPy shards, exactly once per (feature set, image, augment): an
 * augmented row (an hflip set's mirrored training image) is one more row of its image, kept in
 * shards of its own (`<split>-<augment>/` folders) so that the images' shards stay as they were.
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
  /** Batches waiting for their set's next group, by feature set. */
  private readonly waiting = new Map<string, WaitingBatch[]>();
  /** Sets whose groups are being stored now. */
  private readonly draining = new Set<string>();
  private readonly lastProgressEvent = new Map<string, number>();
  /** Each draining set's buffer for gathering a group's vectors (gatherBuffer). */
  private readonly gathering = new Map<string, ArrayBuffer>();

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly client: BusClient,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  /**
   * Stores a batch, together with the batches of the same set that arrived while the set's last
   * group was being stored: one transaction, one append per split and one round of fdatasync for
   * all of them (group commit). Resolves once the group is committed; a failure fails every batch
   * of the group (each is redelivered, and the dedupe drops what a later try finds stored).
   */
  store(batch: FeatureBatch): Promise<StoreOutcome> {
    return new Promise<StoreOutcome>((resolve, reject) => {
      const queue = this.waiting.get(batch.featureSetId) ?? [];
      queue.push({ batch, resolve, reject });
      this.waiting.set(batch.featureSetId, queue);
      void this.drain(batch.featureSetId);
    });
  }

  /** Stores the set's waiting batches, group after group, until none waits; one drain per set at a time. */
  private async drain(featureSetId: string): Promise<void> {
    if (this.draining.has(featureSetId)) return;
    this.draining.add(featureSetId);
    try {
      for (;;) {
        const group = takeGroup(this.waiting.get(featureSetId) ?? [], MAX_GROUP_VECTOR_BYTES);
        if (group.length === 0) break;
        try {
          const outcomes = await this.storeGroup(featureSetId, group.map((waiting) => waiting.batch));
          group.forEach((waiting, i) => {
            const outcome = outcomes[i]!;
            if (outcome instanceof PermanentError) waiting.reject(outcome);
            else waiting.resolve(outcome);
          });
        } catch (error) {
          for (const waiting of group) waiting.reject(error);
        }
      }
    } finally {
      this.waiting.delete(featureSetId);
      this.gathering.delete(featureSetId);
      this.draining.delete(featureSetId);
    }
  }

  /** Each batch's outcome, or the PermanentError that rejects it alone (its dtype or dim is not the set's). */
  private async storeGroup(featureSetId: string, batches: FeatureBatch[]): Promise<Array<StoreOutcome | PermanentError>> {
    const touched = new Set<string>();
    try {
      const outcomes = await this.featureSets.withSetLock(featureSetId, (tx, set) => this.storeLocked(tx, set, batches, touched));
      const stored = outcomes.filter((outcome): outcome is StoreOutcome => !(outcome instanceof PermanentError));
      if (stored.length > 0) await this.announce(stored[0]!.set);
      return outcomes;
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

  private async storeLocked(tx: Transaction, set: FeatureSetRow, group: FeatureBatch[], touched: Set<string>): Promise<Array<StoreOutcome | PermanentError>> {
    // A batch whose dtype or dim is not the set's is rejected alone; the group's first valid batch fixes a new set's dim.
    const dim = set.dim ?? group.find((batch) => batch.dtype === set.dtype)?.dim ?? group[0]!.dim;
    const invalid = group.map((batch) =>
      batch.dtype !== set.dtype
        ? new PermanentError(`batch dtype ${batch.dtype} does not match feature set ${set.id} (${set.dtype})`)
        : batch.dim !== dim
          ? new PermanentError(`batch dim ${batch.dim} does not match feature set ${set.id} (${dim})`)
          : undefined,
    );
    const idsOf = (batch: FeatureBatch) => [...batch.imageIds, ...batch.failures.map((failure) => failure.imageId)];
    const checked = await this.featureSets.checkImages(tx, set, group.flatMap((batch, b) => (invalid[b] ? [] : idsOf(batch))));
    // A batch naming images of another dataset (or none) is rejected alone, like a wrong dim.
    group.forEach((batch, b) => {
      const foreign = invalid[b] ? [] : idsOf(batch).filter((imageId) => checked.foreign.has(imageId));
      if (foreign.length > 0) invalid[b] = new PermanentError(`batch ${batch.workId}:${batch.part}: image ids ${foreign.slice(0, 10).join(', ')}${foreign.length > 10 ? ', …' : ''} are not images of dataset ${set.datasetId}`);
    });
    const batches = group.filter((_, b) => invalid[b] === undefined);
    if (batches.length === 0) return invalid as PermanentError[];
    const first = batches[0]!;

    const augmentOf = (batch: FeatureBatch, row: number): Augment => (batch.augmented?.[row] ? set.augment : 'none');
    if (set.augment === 'none' && batches.some((batch) => batch.augmented?.includes(true))) {
      throw new PermanentError(`feature set ${set.id} has no augmentation, yet a batch holds augmented rows`);
    }
    const alreadyStored = checked.stored;
    // Rows of the group to store, each once: [batch, row in batch], by (split, augment) in arrival order.
    const seen = { none: new Set<number>(), hflip: new Set<number>() };
    const byPlace = new Map<string, { split: Split; augment: Augment; rows: Array<[FeatureBatch, number]> }>();
    const storedPerBatch = batches.map(() => 0);
    batches.forEach((batch, b) => {
      batch.imageIds.forEach((imageId, i) => {
        const augment = augmentOf(batch, i);
        if (alreadyStored[augment].has(imageId) || seen[augment].has(imageId)) return;
        seen[augment].add(imageId);
        const split = batch.splits[i]!;
        const key = `${split}:${augment}`;
        const place = byPlace.get(key) ?? { split, augment, rows: [] };
        place.rows.push([batch, i]);
        byPlace.set(key, place);
        storedPerBatch[b] += 1;
      });
    });

    const { storeId } = this.config.features;
    const rowBytes = dim * (first.dtype === 'float16' ? 2 : 4);
    for (const { split, augment, rows } of byPlace.values()) {
      const folder = augment === 'none' ? split : `${split}-${augment}`;
      const shard = await this.featureSets.openShard(tx, { featureSetId: set.id, split, augment }, storeId, (index) => shardPath({ featureSetId: set.id, split: folder, storeId, index }));
      touched.add(shard.id);
      const writer = await this.writerFor(shard, first);
      const bytes = this.gatherBuffer(set.id, rows.length * rowBytes);
      gatherRows(bytes, rows, rowBytes);
      const features = first.dtype === 'float16' ? new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2) : new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
      const imageIds = rows.map(([batch, row]) => batch.imageIds[row]!);
      await writer.append({ features, labels: Int32Array.from(rows.map(([batch, row]) => batch.labels[row]!)), imageIds });
      if (CRASH_AFTER_APPEND > 0 && ++appends === CRASH_AFTER_APPEND) process.kill(process.pid, 'SIGKILL');
      await this.featureSets.recordAppend(tx, shard, imageIds, writer.bytes);
      if (shard.rows >= this.config.features.shardMaxRows) {
        const sealed = await writer.seal();
        await this.featureSets.sealShard(tx, shard, sealed.sha256, sealed.bytes);
        await this.closeWriter(shard.id);
      }
    }

    const storedIds = [...seen.none];
    const cleared = await this.featureSets.clearFailures(tx, set.id, storedIds);
    const failures = batches.flatMap((batch) => batch.failures).filter((f) => !alreadyStored.none.has(f.imageId) && !seen.none.has(f.imageId));
    const failed = await this.featureSets.recordFailures(tx, set.id, failures);
    const updated = await this.featureSets.addCounts(tx, set, { stored: storedIds.length, augmented: seen.hflip.size, failed: failed - cleared, dim });
    // Per batch: its own rows stored and dropped; the failures recorded are the group's.
    let valid = 0;
    return group.map((batch, b) => {
      if (invalid[b] !== undefined) return invalid[b]!;
      const stored = storedPerBatch[valid++]!;
      return { stored, duplicates: batch.imageIds.length - stored, failed, set: updated };
    });
  }

  /**
   * The set's buffer for gathering a group's vectors, `bytes` long, reused from group to group
   * (a set's groups are stored one at a time): a fresh 8 MiB buffer each group, zeroed, then
   * garbage, was a good part of the store's CPU.
   */
  private gatherBuffer(featureSetId: string, bytes: number): Uint8Array {
    let buffer = this.gathering.get(featureSetId);
    if (!buffer || buffer.byteLength < bytes) {
      buffer = new ArrayBuffer(Math.max(bytes, MAX_GROUP_VECTOR_BYTES));
      this.gathering.set(featureSetId, buffer);
    }
    return new Uint8Array(buffer, 0, bytes);
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

/**
 * Copies the rows' vector bytes into `into`, one after another: a run of consecutive rows of one
 * batch (usually all of it) at a time. Bytes, so a batch's vectors need no alignment: they are read
 * where the message put them.
 */
function gatherRows(into: Uint8Array, rows: Array<[FeatureBatch, number]>, rowBytes: number): void {
  for (let start = 0; start < rows.length; ) {
    const [batch, firstRow] = rows[start]!;
    let end = start + 1;
    while (end < rows.length && rows[end]![0] === batch && rows[end]![1] === firstRow + (end - start)) end += 1;
    into.set(batch.vectors.subarray(firstRow * rowBytes, (firstRow + end - start) * rowBytes), start * rowBytes);
    start = end;
  }
}
