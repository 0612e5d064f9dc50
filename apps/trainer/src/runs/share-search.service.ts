import { Injectable } from '@nestjs/common';
import { searchShareSchema, SearchShare } from '@featx/contracts';
import { RunCandidatesRepository, RunsRepository } from '@featx/db';
import { sharePlan } from '@featx/learning';
import { HeadSearch, leaderboardRows } from './head-search.service';
import { RunContext } from './run-context';
import { saveRunCheckpoint, TrainingProgress } from './run-checkpoints';
import { RunPublication } from './run-publication.service';

/** Where a search share publishes its best candidate in the artifacts bucket: `<share run>/candidate/...`, a checkpoint. */
export const SHARE_CANDIDATE_FOLDER = 'candidate';

/**
 * A search share (a child run of a `head: auto` run, claimed by any trainer): the shared-read
 * search of HeadSearch over its part of the grid, with its seed. What it leaves is what the parent
 * adopts: its candidates' leaderboard rows (grid positions; its own winner marked chosen), its
 * winner's epochs as the share's epochs, and its winner at its best epoch published to the
 * artifacts bucket as a checkpoint (optimizer state reset). A trainer that dies during it leaves
 * nothing of it: the trainer that resumes the share searches it again.
 */
@Injectable()
export class ShareSearch {
  constructor(
    private readonly headSearch: HeadSearch,
    private readonly runs: RunsRepository,
    private readonly candidates: RunCandidatesRepository,
    private readonly publication: RunPublication,
  ) {}

  async run(context: RunContext, worker: string): Promise<void> {
    const { run, artifacts } = context;
    const share = shareOf(run);
    const grid = this.headSearch.plan(context);
    const { result, epochMs, trainingRows } = await this.headSearch.search(context, sharePlan(grid, share));
    try {
      await this.candidates.replace(
        run.id,
        leaderboardRows(result, (index) => share.positions[index], grid.candidates.length),
      );
      const winner = result.candidates[result.winner];
      const best = winner.history[winner.bestEpoch! - 1];
      const progress: TrainingProgress = { epochsDone: winner.epochsTrained, bestEpoch: winner.bestEpoch, bestValLoss: best.valLoss, epochsSinceBest: winner.epochsTrained - winner.bestEpoch! };
      await saveRunCheckpoint(artifacts, result.head, progress, true);
      for (const epoch of winner.history) {
        const ms = epochMs[epoch.epoch - 1] ?? 0;
        await this.runs.recordEpoch(
          { runId: run.id, ...epoch, durationMs: ms, rowsPerSecond: (trainingRows * 1000) / Math.max(ms, 1) },
          { epochsDone: epoch.epoch, bestEpoch: progress.bestEpoch, bestValLoss: progress.bestValLoss, artifactsPath: artifacts.relativePath },
        );
      }
      await this.publication.publishFolder(run.id, SHARE_CANDIDATE_FOLDER, artifacts.best, worker);
    } finally {
      result.head.dispose();
    }
  }
}

/** The share a search-share run trains, checked (a bad record fails the share, naming the field). */
export function shareOf(run: { id: string; share: unknown }): SearchShare {
  const parsed = searchShareSchema.safeParse(run.share);
  if (!parsed.success) throw new Error(`search share ${run.id}: its share record is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'share'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
