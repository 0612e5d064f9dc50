import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { SearchShare } from '@featx/contracts';
import type { Database } from '../database';
import { trainingRuns } from '../schema';
import type { RunRow } from './runs.repository';

/**
 * The search shares of `head: auto` runs: child runs (kind `search-share`) that any trainer claims
 * like any queued run (RunsRepository.claimNext), each training part of its parent's grid.
 */
export class RunSharesRepository {
  constructor(private readonly db: Database) {}

  /**
   * Queues the parent's shares, once: a parent resumed by another trainer finds the ones it made
   * and gets them back (the parent's row is locked meanwhile). Each share is created a millisecond
   * after the one before, so trainers claim them in share order.
   */
  async createOnce(parent: RunRow, shares: Array<{ config: Record<string, unknown>; share: SearchShare }>): Promise<RunRow[]> {
    await this.db.transaction(async (tx) => {
      await tx.select({ id: trainingRuns.id }).from(trainingRuns).where(eq(trainingRuns.id, parent.id)).for('update');
      const [existing] = await tx.select({ id: trainingRuns.id }).from(trainingRuns).where(eq(trainingRuns.parentRunId, parent.id)).limit(1);
      if (existing || shares.length === 0) return;
      await tx.insert(trainingRuns).values(
        shares.map(({ config, share }) => ({
          featureSetId: parent.featureSetId,
          kind: 'search-share' as const,
          parentRunId: parent.id,
          share,
          config,
          classes: parent.classes,
          status: 'queued' as const,
          createdAt: sql`now() + ${share.index} * interval '1 millisecond'`,
        })),
      );
    });
    return this.of(parent.id);
  }

  /** The run's shares, by index. */
  of(parentRunId: string): Promise<RunRow[]> {
    return this.db
      .select()
      .from(trainingRuns)
      .where(eq(trainingRuns.parentRunId, parentRunId))
      .orderBy(asc(sql`(${trainingRuns.share}->>'index')::int`));
  }

  /** Stops the shares of a search that has ended otherwise (a share failed): queued ones are cancelled, running ones flagged. */
  async cancelAll(parentRunId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx
        .update(trainingRuns)
        .set({ status: 'cancelled', cancelRequested: true, finishedAt: sql`now()` })
        .where(and(eq(trainingRuns.parentRunId, parentRunId), eq(trainingRuns.status, 'queued')));
      await tx
        .update(trainingRuns)
        .set({ cancelRequested: true })
        .where(and(eq(trainingRuns.parentRunId, parentRunId), inArray(trainingRuns.status, ['running'])));
    });
  }
}
