import { Inject, Injectable } from '@nestjs/common';
import { RunRow, RunsRepository } from '@featx/db';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { EpochLoop } from './epoch-loop.service';
import { Interrupted, RunFlags } from './run-context';
import { saveRunModel } from './run-model';
import { RunPhaseReporter } from './run-phase';
import { RunPreparation } from './run-preparation.service';
import { RunPublication } from './run-publication.service';
import { RunReports } from './run-reports.service';
import { ShareSearch } from './share-search.service';
import { TrainingStart } from './training-start.service';

export type RunOutcome = { status: 'succeeded' | 'failed' | 'cancelled'; error?: string } | { status: 'released' };

const HEARTBEAT_MS = 2000;

/**
 * Trains one run: prepares it, starts (or resumes from its checkpoint), trains epoch by epoch
 * streaming the feature store, then reports on the held-out splits, writes the model with
 * everything prediction needs and publishes both to the artifacts bucket (the API reads them
 * there). Meanwhile a heartbeat keeps the run claimed.
 */
@Injectable()
export class RunExecutor {
  constructor(
    private readonly runs: RunsRepository,
    private readonly preparation: RunPreparation,
    private readonly start: TrainingStart,
    private readonly epochs: EpochLoop,
    private readonly reports: RunReports,
    private readonly publication: RunPublication,
    private readonly shareSearch: ShareSearch,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async execute(run: RunRow, worker: string, signal: AbortSignal): Promise<RunOutcome> {
    const flags: RunFlags = { cancelled: run.cancelRequested, lost: false, signal };
    const heartbeat = this.keepClaimed(run.id, worker, flags);
    const phase = this.phaseOnRecord(run.id, worker);
    try {
      const context = await this.preparation.prepare(run, flags, phase);
      // A search share's result is its leaderboard rows and its best candidate, published: no model of its own.
      if (run.kind === 'search-share') {
        await this.shareSearch.run(context, worker);
        return { status: 'succeeded' };
      }
      let head;
      try {
        head = await this.epochs.run(context, await this.start.begin(context));
        await this.reports.write(context, head);
        await saveRunModel(context, head);
      } finally {
        head?.dispose();
        context.members.forEach((member) => member.head.dispose());
      }
      await this.publication.publish(run.id, context.artifacts, worker);
      return { status: 'succeeded' };
    } catch (error) {
      // Interrupted: a cancel ends the run; a lost claim or a shutdown leaves it to another trainer.
      if (error instanceof Interrupted) return flags.cancelled ? { status: 'cancelled' } : { status: 'released' };
      return { status: 'failed', error: (error as Error).message };
    } finally {
      clearInterval(heartbeat);
      // The scheduler clears the phase as it ends or releases the run: no write may come after that.
      await phase.settled();
    }
  }

  /** The run's phase, written through the repository; a failed write is logged once per run and the run goes on. */
  private phaseOnRecord(runId: string, worker: string): RunPhaseReporter {
    let logged = false;
    return new RunPhaseReporter((phase) => this.runs.setPhase(runId, worker, phase), {
      onError: (error) => {
        if (logged) return;
        logged = true;
        this.logger.warn('cannot record the run phase (further failures of this run not logged)', { runId, error: error.message });
      },
    });
  }

  /** Refreshes the claim every HEARTBEAT_MS, and raises the flags when the run is cancelled or taken over. */
  private keepClaimed(runId: string, worker: string, flags: RunFlags): NodeJS.Timeout {
    return setInterval(() => {
      void this.runs.heartbeat(runId, worker).then(
        (state) => {
          flags.cancelled ||= state.cancelRequested;
          flags.lost ||= !state.stillOwned;
        },
        () => undefined,
      );
    }, HEARTBEAT_MS);
  }
}
