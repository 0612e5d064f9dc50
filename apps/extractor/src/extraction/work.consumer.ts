import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer } from '@featx/bus';
import { extractWorkItem } from '@featx/contracts';
import { RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { WorkItemProcessor } from './work-item-processor.service';

/** All extractor replicas pull from one durable consumer: adding a replica adds throughput. */
@Injectable()
export class WorkConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: BusConsumer<typeof extractWorkItem>;

  constructor(
    private readonly processor: WorkItemProcessor,
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await BusConsumer.start(this.bus, {
      contract: extractWorkItem,
      stream: this.bus.names.streams.work,
      durable: 'extractor',
      rejections: this.rejections,
      logger: this.logger.child('work'),
      maxDeliver: 5,
      ackWaitMs: this.config.ackWaitMs ?? 120000,
      concurrency: this.config.vision.extractConcurrency,
      handler: async (work, context) => {
        await this.processor.process(work, context);
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }
}
