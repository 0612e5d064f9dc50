import { Inject, Injectable } from '@nestjs/common';
import { ArtifactStore, artifactsInFolder } from '@featx/bus';
import { HeadSearchRecord } from '@featx/contracts';
import { RunCandidateRow, RunCandidatesRepository, RunRow, RunSharesRepository, RunsRepository } from '@featx/db';
import { CandidateSettings, HeadSearchPlan, loadCheckpoint, selectSharedWinner, splitSearch } from '@featx/learning';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { HeadSearch, winnerConfig } from './head-search.service';
import { Interrupted, requireValidationRows, RunContext, throwIfInterrupted } from './run-context';
import { saveRunCheckpoint, TrainingProgress, TrainingState } from './run-checkpoints';
import { RunPreparation } from './run-preparation.service';
import { SHARE_CANDIDATE_FOLDER } from './share-search.service';
import { TrainerSlots } from './trainer-slots';

/** How often a waiting run looks at its shares. */
const POLL_MS = 1000;

/**
 * `head: auto` split into shares (searchShares > 1): the run queues its grid's shares as child
 * runs (kind `search-share`), which any trainer claims like any queued run (a dead trainer's share
 * is resumed by the next one that looks, as any run), and waits in `waiting-for-shares`, its slot
 * free meanwhile (TrainerSlots: a trainer alone trains its own run's shares in turn). When every
 * share has succeeded it takes the best candidate across them by the whole search's rule, fetches
 * that candidate's weights from the artifacts bucket and adopts it as HeadSearch does: leaderboard
 * (every share's candidates), configuration, epochs, checkpoint. A share that fails fails the run;
 * cancelling the run cancels its shares (RunsRepository.requestCancel).
 */
@Injectable()
export class SearchShares {
  constructor(
    private readonly headSearch: HeadSearch,
    private readonly runs: RunsRepository,
    private readonly shares: RunSharesRepository,
    private readonly candidates: RunCandidatesRepository,
    private readonly store: ArtifactStore,
    private readonly preparation: RunPreparation,
    private readonly slots: TrainerSlots,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async run(context: RunContext): Promise<TrainingState> {
    const { run, config } = context;
    requireValidationRows(context, 'head auto');
    const plan = this.headSearch.plan(context);
    const parts = splitSearch(plan.candidates.length, config.searchShares ?? 1, plan.seed);
    const { searchShares: _shares, ...shareConfig } = config;
    const shares = await this.shares.createOnce(
      run,
      parts.map((share) => ({ config: { ...shareConfig, seed: share.seed }, share })),
    );
    this.logger.info('head search split into shares', { runId: run.id, shares: shares.map((s) => s.id) });
    const finished = await this.slots.whileWaiting(run.id, () => this.waitFor(context));
    return this.adopt(context, plan, finished);
  }

  /** Until every share has succeeded (then returns them); a failed share fails the run, a cancelled one too unless the run was cancelled. */
  private async waitFor(context: RunContext): Promise<RunRow[]> {
    const { run } = context;
    let shown = '';
    for (;;) {
      throwIfInterrupted(context.flags);
      const shares = await this.shares.of(run.id);
      const ended = shares.find((s) => s.status === 'failed' || s.status === 'cancelled');
      if (ended) {
        // The run's cancel reached its shares before its own heartbeat told this trainer.
        if ((await this.runs.get(run.id))?.cancelRequested) {
          context.flags.cancelled = true;
          throw new Interrupted();
        }
        await this.shares.cancelAll(run.id);
        throw new Error(`search share ${ended.share?.index ?? '?'} (run ${ended.id}) ${ended.status === 'failed' ? `failed: ${ended.error}` : 'was cancelled'}`);
      }
      const done = shares.filter((s) => s.status === 'succeeded').length;
      if (done === shares.length) return shares;
      const training = shares.filter((s) => s.status === 'running').length;
      if (`${done}/${training}` !== shown) {
        context.phase.begin({ step: 'waiting-for-shares', unit: 'shares', done, total: shares.length, rowsPerSecond: null, training });
        shown = `${done}/${training}`;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** The best candidate across the shares becomes the run: leaderboard, configuration, checkpoint, epochs. */
  private async adopt(context: RunContext, plan: HeadSearchPlan, shares: RunRow[]): Promise<TrainingState> {
    const { run, artifacts } = context;
    const rows = (await Promise.all(shares.map(async (share) => (await this.candidates.list(share.id)).map((row) => ({ row, share }))))).flat();
    const winner = selectSharedWinner(rows.map(({ row, share }) => ({ position: row.position, outcome: row.outcome, valAccuracy: row.valAccuracy, valLoss: row.valLoss, row, share })));
    const { row: best, share } = winner;
    if (!best.chosen) throw new Error(`search share ${share.id} did not choose its best candidate (${best.name}): its weights were not published`);
    const records = artifactsInFolder(share.publishedArtifacts ?? [], SHARE_CANDIDATE_FOLDER);
    const folder = artifacts.file('share-candidate');
    await artifacts.replaceFolder(folder, (dir) => this.store.getFolder(share.id, SHARE_CANDIDATE_FOLDER, records, dir));
    const head = await loadCheckpoint(folder, { engine: context.engine });
    try {
      await this.candidates.replace(run.id, rows.map(({ row }) => leaderboardRow(row, row.position === best.position)));
      // Shares scored their candidates as the whole search does (each image with its mirror on a set
      // mirrored throughout); the model is the best candidate alone: ensembles across shares are not built.
      const record: HeadSearchRecord = {
        chosen: best.name,
        candidates: plan.candidates.length,
        epochs: plan.epochs,
        patience: plan.patience,
        rungs: plan.rungs,
        shares: shares.length,
        members: [best.name],
        testTimeAugment: context.mirrors ? 'hflip' : 'none',
      };
      const resolved = winnerConfig(context.config, plan, { settings: best.settings as unknown as CandidateSettings, epochsTrained: best.epochsTrained }, record);
      // Its statistics are only needed where the winner is standardized (the run's preparation left them to now).
      context.standardization = resolved.standardize ? (context.standardization ?? (await this.preparation.standardization(context))) : null;
      const bestEpoch = best.bestEpoch!;
      const progress: TrainingProgress = { epochsDone: best.epochsTrained, bestEpoch, bestValLoss: best.valLoss, epochsSinceBest: best.epochsTrained - bestEpoch };
      // The checkpoint first: a trainer that dies before the configuration is on record adopts again.
      await saveRunCheckpoint(artifacts, head, progress, true);
      await this.runs.setConfig(run.id, resolved);
      context.config = resolved;
      for (const epoch of await this.runs.epochs(share.id)) {
        const { runId: _runId, createdAt: _at, ...metric } = epoch;
        await this.runs.recordEpoch({ runId: run.id, ...metric }, { epochsDone: epoch.epoch, bestEpoch, bestValLoss: progress.bestValLoss, artifactsPath: artifacts.relativePath });
      }
      this.logger.info('head chosen on the validation split', { runId: run.id, chosen: best.name, valAccuracy: best.valAccuracy, bestEpoch, share: share.id, shares: shares.length });
      return { head, progress };
    } catch (error) {
      head.dispose();
      throw error;
    }
  }
}

/** A share's leaderboard row as the run's own. */
function leaderboardRow(row: RunCandidateRow, chosen: boolean) {
  const { runId: _runId, createdAt: _createdAt, ...candidate } = row;
  return { ...candidate, chosen };
}

