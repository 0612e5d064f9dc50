import * as path from 'node:path';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { MessageOf, readShardReply, readShardRequest, shardRowsPerReply, shardRowsReply } from '@featx/contracts';
import { FeatureSetsRepository } from '@featx/db';
import { ShardReader, ShardReaderCache, shardDir } from '@featx/features';
import { CONFIG, FeatxConfig } from '@featx/runtime';

/** Readers kept open; training reads the same few shards epoch after epoch. */
const MAX_OPEN_READERS = 16;

/**
 * Reads committed shard rows for the shard-read handler (`ShardReadController`): only committed
 * rows are served, and a reply never exceeds max_payload (it may hold fewer rows than asked).
 * v2 requests get the rows as stored (float16 stays float16), v1 requests float32.
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
    const wireDtype = request.v === 1 ? 'float32' : reader.dtype;
    const withFeatures = request.v === 1 || request.features !== false;
    const fit = shardRowsPerReply(this.client.maxPayload, withFeatures ? reader.dim : 0, wireDtype);
    const count = Math.min(request.count, fit, reader.rows - request.start);
    if (count <= 0) throw new Error(`rows from ${request.start} are outside shard ${request.shardId} (${reader.rows} committed rows)`);
    // v1 readers expect float32; v2 readers get the stored bytes and decode them themselves.
    const batch = request.v === 1 ? await reader.read(request.start, count) : await reader.readStored(request.start, count, { features: withFeatures });
    const features = new Uint8Array(batch.features.buffer, batch.features.byteOffset, batch.features.byteLength);
    const rows = { start: request.start, rows: count, dim: reader.dim, labels: Array.from(batch.labels), imageIds: Array.from(batch.imageIds, Number) };
    return shardRowsReply(request.v, wireDtype, features, rows);
  }

  /** A reader of the shard's committed rows, if this store writes it. */
  private async open(shardId: string): Promise<ShardReader> {
    const shard = await this.featureSets.shard(shardId);
    if (!shard) throw new Error(`shard ${shardId} does not exist`);
    if (shard.writer !== this.config.features.storeId) throw new Error(`shard ${shardId} lives on feature store ${shard.writer}, not ${this.config.features.storeId}`);
    const root = path.resolve(this.config.features.dir);
    return ShardReader.open(shardDir(root, shard.path), { rows: shard.rows }).catch((error: Error) => {
      // Readers are on other hosts: name the shard's files relative to the features dir, not where it lies here.
      throw new Error(`shard ${shardId}: ${error.message.split(`${root}${path.sep}`).join('')}`);
    });
  }
}
