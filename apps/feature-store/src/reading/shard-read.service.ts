import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { MessageOf, readShardReply, readShardRequest } from '@featx/contracts';
import { FeatureSetsRepository } from '@featx/db';
import { ShardReader, ShardReaderCache, shardDir } from '@featx/features';
import { CONFIG, FeatxConfig } from '@featx/runtime';

/** Readers kept open; training reads the same few shards epoch after epoch. */
const MAX_OPEN_READERS = 16;

/** Room for the reply's other fields. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * Reads committed shard rows for the shard-read handler (`ShardReadController`): only committed
 * rows are served, and a reply never exceeds max_payload (it may hold fewer rows than asked).
 */
@Injectable()
export class ShardReadService implements OnApplicationShutdown {
  private readonly readers = new ShardReaderCache({ maxOpen: MAX_OPEN_READERS, open: (shardId) => this.open(shardId) });

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly client: BusClient,
    @Inject(CONFIG) private readonly config: FeatxConfig,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.readers.close();
  }

  async read(request: MessageOf<typeof readShardRequest>): Promise<MessageOf<typeof readShardReply>> {
    // The reader holds the shard's committed rows as of its opening.
    const reader = await this.readers.reader(request.shardId, request.start + 1);
    const rowBytes = reader.dim * 4 + 32;
    const fit = Math.max(1, Math.floor((this.client.maxPayload - ENVELOPE_BYTES) / rowBytes));
    const count = Math.min(request.count, fit, reader.rows - request.start);
    if (count <= 0) throw new Error(`rows from ${request.start} are outside shard ${request.shardId} (${reader.rows} committed rows)`);
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

  /** A reader of the shard's committed rows, if this store writes it. */
  private async open(shardId: string): Promise<ShardReader> {
    const shard = await this.featureSets.shard(shardId);
    if (!shard) throw new Error(`shard ${shardId} does not exist`);
    if (shard.writer !== this.config.features.storeId) throw new Error(`shard ${shardId} lives on feature store ${shard.writer}, not ${this.config.features.storeId}`);
    return ShardReader.open(shardDir(this.config.features.dir, shard.path), { rows: shard.rows });
  }
}
