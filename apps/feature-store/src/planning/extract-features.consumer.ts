import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer } from '@featx/bus';
import { extractFeaturesCommand } from '@featx/contracts';
import { CommandsRepository, RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER, startCommandConsumer } from '@featx/runtime';
import { ExtractionPlanner } from './extraction-planner.service';

/** Handles `features.extract` commands: creates or resumes the feature set and publishes its work. */
@Injectable()
export class ExtractFeaturesConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: BusConsumer<typeof extractFeaturesCommand>;

  constructor(
    private readonly planner: ExtractionPlanner,
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await startCommandConsumer({
      bus: this.bus,
      contract: extractFeaturesCommand,
      durable: 'feature-store-extract',
      commands: this.commands,
      rejections: this.rejections,
      logger: this.logger.child('extract-features'),
      run: async (options, context) => ({ ...(await this.planner.plan(options, context.working)) }),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }
}
