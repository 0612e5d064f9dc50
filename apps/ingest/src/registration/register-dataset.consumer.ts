import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer, publish } from '@featx/bus';
import { datasetRegisteredEvent, registerDatasetCommand } from '@featx/contracts';
import { CommandsRepository, RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER, startCommandConsumer } from '@featx/runtime';
import { DatasetRegistrationService } from './dataset-registration.service';

/** Handles `datasets.register` commands from the API or any NATS client. */
@Injectable()
export class RegisterDatasetConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: BusConsumer<typeof registerDatasetCommand>;

  constructor(
    private readonly registration: DatasetRegistrationService,
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await startCommandConsumer({
      bus: this.bus,
      contract: registerDatasetCommand,
      durable: 'ingest-datasets-register',
      commands: this.commands,
      rejections: this.rejections,
      logger: this.logger.child('register-dataset'),
      run: async (options, context) => ({ ...(await this.registration.register(options, context.working)) }),
      after: async (result) => {
        await publish(this.bus, datasetRegisteredEvent, {
          v: 1,
          datasetId: result.datasetId,
          images: result.images,
          added: result.added,
          changed: result.changed,
          removed: result.removed,
        }).catch(() => undefined);
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }
}
