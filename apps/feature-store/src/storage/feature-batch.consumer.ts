import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer } from '@featx/bus';
import { featureBatch } from '@featx/contracts';
import { RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { FeatureBatchStore } from './feature-batch-store.service';

/** Feature batches from the extractors, stored as they come (several at once; each set takes turns). */
@Injectable()
export class FeatureBatchConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: BusConsumer<typeof featureBatch>;

  constructor(
    private readonly store: FeatureBatchStore,
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await BusConsumer.start(this.bus, {
      contract: featureBatch,
      stream: this.bus.names.streams.features,
      durable: 'feature-store',
      rejections: this.rejections,
      logger: this.logger.child('feature-batches'),
      maxDeliver: 10,
      ackWaitMs: this.config.ackWaitMs ?? 60000,
      concurrency: 2,
      handler: async (batch) => {
        await this.store.store(batch);
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }
}
