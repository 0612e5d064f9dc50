import * as path from 'node:path';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BusConnection } from '@featx/bus';
import { MessageOf, readShardReply, readShardRequest } from '@featx/contracts';
import { FeatureSetsRepository, FeatureShardRow } from '@featx/db';
import { ShardReader } from '@featx/features';
import { BUS, CONFIG, FeatxConfig } from '@featx/runtime';

/** Readers kept open; training reads the same few shards epoch after epoch. */
const MAX_OPEN_READERS = 16;
interface OpenShard {
  reader: ShardReader;
  shard: FeatureShardRow;
}

/** Room for the reply's other fields. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * Reads committed shard rows for the shard-read handler (`ShardReadController`): only committed
 * rows are served, and a reply never exceeds max_payload (it may hold fewer rows than asked).
 */
@Injectable()
export class ShardReadService implements OnApplicationShutdown {
  /** Open readers by shard id; promises, so that concurrent requests share one open. */
  private readonly readers = new Map<string, Promise<OpenShard>>();

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    for (const entry of this.readers.values()) await entry.then(({ reader }) => reader.close()).catch(() => undefined);
    this.readers.clear();
  }

  async read(request: MessageOf<typeof readShardRequest>): Promise<MessageOf<typeof readShardReply>> {
    const { reader, shard } = await this.readerFor(request.shardId, request.start + 1);
    const rowBytes = reader.dim * 4 + 32;
    const fit = Math.max(1, Math.floor((this.bus.maxPayload - ENVELOPE_BYTES) / rowBytes));
    const count = Math.min(request.count, fit, shard.rows - request.start);
    if (count <= 0) throw new Error(`rows from ${request.start} are outside shard ${shard.id} (${shard.rows} committed rows)`);
    const batch = await reader.read(request.start, count);
    return {
      v: 1,
      start: request.start,
      rows: count,
      dim: reader.dim,
      features: new Uint8Array(batch.features.buffer, batch.features.byteOffset, batch.features.byteLength),
      labels: Array.from(batch.labels),
      imageIds: Array.from(batch.imageIds, Number),
    };
  }

  /** An open reader covering at least `rowsNeeded` committed rows (reopened when the shard grew). */
  private async readerFor(shardId: string, rowsNeeded: number): Promise<OpenShard> {
    const cached = this.readers.get(shardId);
    if (cached) {
      const entry = await cached.catch(() => undefined);
      if (entry && entry.reader.rows >= rowsNeeded) return entry;
      if (this.readers.get(shardId) === cached) {
        this.readers.delete(shardId);
        await entry?.reader.close().catch(() => undefined);
      }
    }
    let opening = this.readers.get(shardId);
    if (!opening) {
      opening = this.open(shardId);
      opening.catch(() => this.readers.delete(shardId));
      this.readers.set(shardId, opening);
      await this.evict();
    }
    return opening;
  }

  private async open(shardId: string): Promise<OpenShard> {
    const shard = await this.featureSets.shard(shardId);
    if (!shard) throw new Error(`shard ${shardId} does not exist`);
    if (shard.writer !== this.config.features.storeId) throw new Error(`shard ${shardId} lives on feature store ${shard.writer}, not ${this.config.features.storeId}`);
    return { shard, reader: await ShardReader.open(path.join(this.config.features.dir, shard.path), { rows: shard.rows }) };
  }

  private async evict(): Promise<void> {
    while (this.readers.size > MAX_OPEN_READERS) {
      const [oldest, entry] = this.readers.entries().next().value as [string, Promise<OpenShard>];
      this.readers.delete(oldest);
      await entry.then(({ reader }) => reader.close()).catch(() => undefined);
    }
  }
}
