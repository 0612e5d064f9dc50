import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BusConnection, BusConsumer, PermanentError } from '@featx/bus';
import { cancelRunCommand, createRunCommand } from '@featx/contracts';
import { CommandsRepository, FeatureSetsRepository, RejectedMessagesRepository, RunsRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER, startCommandConsumer } from '@featx/runtime';
import { RunScheduler } from './run-scheduler.service';

/** `runs.create` queues a run (the scheduler trains it); `runs.cancel` stops one. */
@Injectable()
export class RunCommandsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumers: Array<BusConsumer<typeof createRunCommand> | BusConsumer<typeof cancelRunCommand>> = [];

  constructor(
    private readonly runs: RunsRepository,
    private readonly featureSets: FeatureSetsRepository,
    private readonly scheduler: RunScheduler,
    private readonly commands: CommandsRepository,
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const common = { bus: this.bus, commands: this.commands, rejections: this.rejections };
    this.consumers.push(
      await startCommandConsumer({
        ...common,
        contract: createRunCommand,
        durable: 'trainer-runs-create',
        logger: this.logger.child('runs-create'),
        run: async ({ runId, ...config }) => {
          const set = await this.featureSets.get(config.featureSetId);
          if (!set) throw new PermanentError(`feature set ${config.featureSetId} does not exist`);
          if (set.status !== 'complete') throw new PermanentError(`feature set ${set.id} is ${set.status}, not complete: finish its extraction first`);
          const dataset = await this.featureSets.datasetOf(set);
          const run = await this.runs.createQueued({ id: runId ?? randomUUID(), featureSetId: set.id, config, classes: dataset.classes });
          this.scheduler.wake();
          return { runId: run.id, status: run.status };
        },
      }),
      await startCommandConsumer({
        ...common,
        contract: cancelRunCommand,
        durable: 'trainer-runs-cancel',
        logger: this.logger.child('runs-cancel'),
        run: async ({ runId }) => {
          const run = await this.runs.requestCancel(runId);
          if (!run) throw new PermanentError(`run ${runId} does not exist`);
          return { runId, status: run.status };
        },
      }),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const consumer of this.consumers) await consumer.stop(this.config.shutdownTimeoutMs);
  }
}
