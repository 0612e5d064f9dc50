import { Inject, Injectable } from '@nestjs/common';
import { RunsRepository } from '@featx/db';
import { loadCheckpoint, recordEpoch, shouldStopEarly, TrainableHead } from '@featx/learning';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { HeadPasses } from './head-passes.service';
import { RunContext } from './run-context';
import { saveRunCheckpoint, TrainingProgress, TrainingState } from './run-checkpoints';
import { RunEvents } from './run-events.service';

/**
 * The epochs of a run: each trains on the training split, validates, goes on record, is
 * checkpointed and announced; early stopping ends the loop when validation stops improving.
 */
@Injectable()
export class EpochLoop {
  constructor(
    private readonly runs: RunsRepository,
    private readonly passes: HeadPasses,
    private readonly events: RunEvents,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  /**
   * Trains from `start` on and returns the model's head: the best checkpoint's with early
   * stopping, otherwise the last epoch's. The caller disposes it; on an error it is disposed here.
   * The run's phase is `training` meanwhile: epochs done of planned.
   */
  async run(context: RunContext, start: TrainingState): Promise<TrainableHead> {
    const { run, config, artifacts } = context;
    let { head, progress } = start;
    context.phase.begin({ step: 'training', unit: 'epochs', done: progress.epochsDone, total: config.epochs, rowsPerSecond: null });
    try {
      for (let epoch = progress.epochsDone; epoch < config.epochs; epoch++) {
        progress = await this.epoch(context, head, epoch, progress);
        if (shouldStopEarly(progress, config.earlyStoppingPatience)) {
          this.logger.info('early stopping', { runId: run.id, epoch: epoch + 1, bestEpoch: progress.bestEpoch });
          break;
        }
      }
      if (config.earlyStoppingPatience !== undefined && (await artifacts.exists(artifacts.best))) {
        head.dispose();
        head = await loadCheckpoint(artifacts.best, { engine: context.engine });
      }
      return head;
    } catch (error) {
      head.dispose();
      throw error;
    }
  }

  private async epoch(context: RunContext, head: TrainableHead, epoch: number, before: TrainingProgress): Promise<TrainingProgress> {
    const { run, config, artifacts } = context;
    const started = Date.now();
    const training = await this.passes.train(context, head, epoch);
    const validation = context.shards.validation.length ? await this.passes.evaluate(context, head, 'validation') : null;
    const durationMs = Date.now() - started;
    const progress: TrainingProgress = { epochsDone: epoch + 1, ...recordEpoch(before, epoch, validation?.loss ?? null) };
    const metric = {
      runId: run.id,
      epoch: epoch + 1,
      trainLoss: training.loss,
      trainAccuracy: training.accuracy,
      valLoss: validation?.loss ?? null,
      valAccuracy: validation?.accuracy ?? null,
      learningRate: head.optimizer.learningRateAt(head.step),
      durationMs,
      rowsPerSecond: training.rowsPerSecond,
    };
    // The epoch goes on record before its checkpoint: a trainer killed in between leaves the
    // previous checkpoint, and the resumed run trains this epoch again (its row is replaced),
    // so no epoch is ever skipped or recorded twice.
    await this.runs.recordEpoch(metric, { epochsDone: progress.epochsDone, bestEpoch: progress.bestEpoch, bestValLoss: progress.bestValLoss, artifactsPath: artifacts.relativePath });
    await saveRunCheckpoint(artifacts, head, progress, progress.epochsSinceBest === 0);
    context.phase.epochsDone(progress.epochsDone, training.rowsPerSecond);
    await this.events.epochFinished({ ...metric, epochs: config.epochs });
    return progress;
  }
}
