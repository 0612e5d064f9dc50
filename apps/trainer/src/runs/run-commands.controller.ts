import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PermanentError } from '@featx/bus';
import { cancelRunCommand, createRunCommand, MessageOf, tooFewClasses } from '@featx/contracts';
import { FeatureSetsRepository, RunsRepository } from '@featx/db';
import { CommandPattern } from '@featx/runtime';
import { RunScheduler } from './run-scheduler.service';

/** `runs.create` queues a run (the scheduler trains it); `runs.cancel` stops one. */
@Controller()
export class RunCommandsController {
  constructor(
    private readonly runs: RunsRepository,
    private readonly featureSets: FeatureSetsRepository,
    private readonly scheduler: RunScheduler,
  ) {}

  @CommandPattern(createRunCommand, { durable: 'trainer-runs-create' })
  async create(@Payload() command: MessageOf<typeof createRunCommand>) {
    const { v: _version, id: _id, runId, ...config } = command;
    const set = await this.featureSets.get(config.featureSetId);
    if (!set) throw new PermanentError(`feature set ${config.featureSetId} does not exist`);
    if (set.status !== 'complete') throw new PermanentError(`feature set ${set.id} is ${set.status}, not complete: finish its extraction first`);
    const dataset = await this.featureSets.datasetOf(set);
    const classesError = tooFewClasses(dataset);
    if (classesError) throw new PermanentError(classesError);
    const run = await this.runs.createQueued({ id: runId ?? randomUUID(), featureSetId: set.id, config, classes: dataset.classes });
    this.scheduler.wake();
    return { runId: run.id, status: run.status };
  }

  @CommandPattern(cancelRunCommand, { durable: 'trainer-runs-cancel' })
  async cancel(@Payload() { runId }: MessageOf<typeof cancelRunCommand>) {
    const run = await this.runs.requestCancel(runId);
    if (!run) throw new PermanentError(`run ${runId} does not exist`);
    return { runId, status: run.status };
  }
}
