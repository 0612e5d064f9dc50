import * as os from 'node:os';
import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { RunRow, RunsRepository } from '@featx/db';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { RunEvents } from './run-events.service';
import { RunExecutor, RunOutcome } from './run-executor.service';
import { TrainerSlots } from './trainer-slots';

const POLL_MS = 1000;

/**
 * Trains queued runs, `concurrency` at a time, and takes over runs whose trainer died (their
 * heartbeat went stale): those resume from their last checkpoint. Several trainers can run side
 * by side; Postgres hands each run to one of them.
 */
@Injectable()
export class RunScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Unique per process: a restarted trainer must not believe it still holds its old runs. */
  readonly worker = `${os.hostname()}-${process.pid}`;
  private readonly active = new Map<string, AbortController>();
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private claiming = false;

  constructor(
    private readonly runs: RunsRepository,
    private readonly executor: RunExecutor,
    private readonly events: RunEvents,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly slots: TrainerSlots = new TrainerSlots(),
  ) {
    // A run waiting for its search shares frees its slot: claim a share (or any run) at once.
    slots.onSlotFreed(() => this.wake());
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.wake();
  }

  /** Looks for work now (a run was just queued). */
  wake(): void {
    void this.claim();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    // Stop at the next batch; the last checkpoint stays, and another trainer takes over at once.
    for (const controller of this.active.values()) controller.abort();
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  private async claim(): Promise<void> {
    if (this.claiming || this.stopping) return;
    this.claiming = true;
    try {
      // Runs waiting for their search shares train nothing: their slots take other work.
      while (!this.stopping && this.active.size - this.slots.waitingRuns < this.config.training.concurrency) {
        const run = await this.runs.claimNext(this.worker, new Date(Date.now() - this.config.training.staleAfterMs));
        if (!run) break;
        this.start(run);
      }
    } catch (error) {
      this.logger.warn('cannot claim runs', { error: (error as Error).message });
    } finally {
      this.claiming = false;
    }
  }

  private start(run: RunRow): void {
    const controller = new AbortController();
    this.active.set(run.id, controller);
    this.logger.info(run.resumes > 0 ? 'resuming run' : 'starting run', { runId: run.id, epochsDone: run.epochsDone, resumes: run.resumes });
    void this.events.statusChanged(run.id, 'running', null);
    this.executor
      .execute(run, this.worker, controller.signal)
      .then((outcome) => this.settle(run.id, outcome))
      .catch((error: Error) => this.logger.error('cannot record the end of a run; its heartbeat will go stale and another trainer will take it', { runId: run.id, error: error.message }))
      .finally(() => {
        this.active.delete(run.id);
        this.wake();
      });
  }

  private async settle(runId: string, outcome: RunOutcome): Promise<void> {
    if (outcome.status === 'released') {
      await this.runs.release(runId, this.worker).catch(() => undefined);
      this.logger.info('run released for another trainer', { runId });
      return;
    }
    await this.runs.finish(runId, outcome.status, outcome.error);
    this.logger.info(`run ${outcome.status}`, { runId, error: outcome.error });
    await this.events.statusChanged(runId, outcome.status, outcome.error ?? null);
  }
}
