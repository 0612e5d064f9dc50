import { asc, eq } from 'drizzle-orm';
import type { Database } from '../database';
import { runCandidates } from '../schema';

export type RunCandidateRow = typeof runCandidates.$inferSelect;
export type NewRunCandidate = Omit<typeof runCandidates.$inferInsert, 'createdAt' | 'runId'>;

/** The leaderboards of `--head auto` runs. */
export class RunCandidatesRepository {
  constructor(private readonly db: Database) {}

  /** Replaces the run's leaderboard (a run resumed after its search ran the search again). */
  async replace(runId: string, candidates: NewRunCandidate[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.delete(runCandidates).where(eq(runCandidates.runId, runId));
      if (candidates.length > 0) await tx.insert(runCandidates).values(candidates.map((candidate) => ({ ...candidate, runId })));
    });
  }

  /** In grid order (the caller ranks them). */
  list(runId: string): Promise<RunCandidateRow[]> {
    return this.db.select().from(runCandidates).where(eq(runCandidates.runId, runId)).orderBy(asc(runCandidates.position));
  }
}
