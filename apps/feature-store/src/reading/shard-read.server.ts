import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { Subscription } from '@nats-io/nats-core';
import { BusConnection } from '@featx/bus';
import { decodeMessage, encodeMessage, parseMessage, readShardRequest, shardReadSubject } from '@featx/contracts';
import { FeatureSetsRepository } from '@featx/db';
import { ShardReader, ShardReaderCache, shardDir } from '@featx/features';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';

/** Readers kept open; training reads the same few shards epoch after epoch. */
const MAX_OPEN_READERS = 16;

/** Room for the reply's other fields. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * Serves shard rows over NATS request/reply, so a trainer on another machine (no shared disk)
 * reads features at its own pace: it asks for the next rows when it wants them. Only committed
 * rows are served; a reply never exceeds max_payload (it may hold fewer rows than asked).
 */
@Injectable()
export class ShardReadServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;
  private readonly readers = new ShardReaderCache({ maxOpen: MAX_OPEN_READERS, open: (shardId) => this.open(shardId) });

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    const subject = shardReadSubject(this.bus.names, this.config.features.storeId);
    this.subscription = this.bus.nc.subscribe(subject, {
      // Replicas sharing one disk and store id split the load.
      queue: 'feature-store',
      callback: (error, message) => {
        if (error) return;
        void this.answer(message.data).then((reply) => message.respond(reply));
      },
    });
    this.logger.info('serving shard reads', { subject });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.drain().catch(() => undefined);
    await this.readers.close();
  }

  private async answer(data: Uint8Array): Promise<Uint8Array> {
    try {
      const request = parseMessage(readShardRequest, decodeMessage(data));
      // The reader holds the shard's committed rows as of its opening.
      const reader = await this.readers.reader(request.shardId, request.start + 1);
      const rowBytes = reader.dim * 4 + 32;
      const fit = Math.max(1, Math.floor((this.bus.maxPayload - ENVELOPE_BYTES) / rowBytes));
      const count = Math.min(request.count, fit, reader.rows - request.start);
      if (count <= 0) throw new Error(`rows from ${request.start} are outside shard ${request.shardId} (${reader.rows} committed rows)`);
      const batch = await reader.read(request.start, count);
      return encodeMessage({
        v: 1,
        start: request.start,
        rows: count,
        dim: reader.dim,
        features: new Uint8Array(batch.features.buffer, batch.features.byteOffset, batch.features.byteLength),
        labels: Array.from(batch.labels),
        imageIds: Array.from(batch.imageIds, Number),
      });
    } catch (error) {
      return encodeMessage({ v: 1, start: 0, rows: 0, dim: 0, features: new Uint8Array(0), labels: [], imageIds: [], error: (error as Error).message });
    }
  }

  /** A reader of the shard's committed rows, if this store writes it. */
  private async open(shardId: string): Promise<ShardReader> {
    const shard = await this.featureSets.shard(shardId);
    if (!shard) throw new Error(`shard ${shardId} does not exist`);
    if (shard.writer !== this.config.features.storeId) throw new Error(`shard ${shardId} lives on feature store ${shard.writer}, not ${this.config.features.storeId}`);
    return ShardReader.open(shardDir(this.config.features.dir, shard.path), { rows: shard.rows });
  }
}
