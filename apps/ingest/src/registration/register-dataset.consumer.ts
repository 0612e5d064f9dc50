import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer, MessageContext, publish } from '@featx/bus';
import { commandFinishedEvent, datasetRegisteredEvent, MessageOf, registerDatasetCommand } from '@featx/contracts';
import { DatasetInputError } from '@featx/datasets';
import { CommandsRepository, RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { DatasetRegistrationService } from './dataset-registration.service';

const MAX_DELIVER = 5;

/**
 * Handles `datasets.register` commands from the API or any NATS client. A bad request (a path
 * outside the data roots, a folder no layout fits) fails the command with its reason; a passing
 * fault (database down) is retried with backoff.
 */
@Injectable()
export class RegisterDatasetConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
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
    this.consumer = await BusConsumer.start(this.bus, {
      contract: registerDatasetCommand,
      stream: this.bus.names.streams.commands,
      durable: 'ingest-datasets-register',
      handler: (command, context) => this.handle(command, context),
      rejections: this.rejections,
      logger: this.logger.child('register-dataset'),
      maxDeliver: MAX_DELIVER,
      ackWaitMs: 60000,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }

  private async handle(command: MessageOf<typeof registerDatasetCommand>, context: MessageContext): Promise<void> {
    const id = command.id ?? `${this.bus.names.streams.commands}:${context.streamSequence}`;
    const { v: _version, id: _id, ...options } = command;
    await this.commands.markRunning(id, registerDatasetCommand.name, options);
    try {
      const result = await this.registration.register(options, context.working);
      await this.commands.markFinished(id, 'succeeded', { result: { ...result } });
      await this.announce(id, 'succeeded', { ...result }, null);
      await publish(this.bus, datasetRegisteredEvent, {
        v: 1,
        datasetId: result.datasetId,
        images: result.images,
        added: result.added,
        changed: result.changed,
        removed: result.removed,
      }).catch(() => undefined);
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof DatasetInputError) {
        await this.commands.markFinished(id, 'failed', { error: message });
        await this.announce(id, 'failed', null, message);
        return;
      }
      if (context.deliveryCount >= MAX_DELIVER) {
        await this.commands.markFinished(id, 'failed', { error: `gave up after ${context.deliveryCount} attempts: ${message}` }).catch(() => undefined);
      }
      throw error;
    }
  }

  private async announce(commandId: string, status: 'succeeded' | 'failed', result: Record<string, unknown> | null, error: string | null) {
    await publish(this.bus, commandFinishedEvent, { v: 1, commandId, type: registerDatasetCommand.name, status, result, error }).catch(() => undefined);
  }
}
