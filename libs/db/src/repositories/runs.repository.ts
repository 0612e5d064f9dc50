import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { parseRunPhase, RunPhase } from '@featx/contracts';
import type { Database } from '../database';
import { epochMetrics, evaluations, trainingRuns } from '../schema';
import { decodeCursor, Page, PageRequest, toPage } from './keyset-page';
import { oldestFirstPage, rowById } from './table-queries';

export type RunRow = typeof trainingRuns.$inferSelect;
export type EpochMetricRow = typeof epochMetrics.$inferSelect;
export type EvaluationRow = typeof evaluations.$inferSelect;
export type NewEpochMetric = Omit<typeof epochMetrics.$inferInsert, 'createdAt'>;
export type NewEvaluation = Omit<typeof evaluations.$inferInsert, 'createdAt'>;

export class RunsRepository {
  constructor(private readonly db: Database) {}

  /** Records a queued run; the same id again (a redelivered command) changes nothing. */
  async createQueued(run: { id: string; featureSetId: string; config: Record<string, unknown>; classes: string[] }): Promise<RunRow> {
    await this.db.insert(trainingRuns).values({ ...run, status: 'queued' }).onConflictDoNothing();
    return (await this.get(run.id))!;
  }

  get(id: string): Promise<RunRow | undefined> {
    return rowById(this.db, trainingRuns, id);
  }

  /**
   * A page of the runs (on one feature set, given its id), oldest first: the runs users started,
   * or, given `parentRunId`, that run's search shares (a share is never listed among the others).
   */
  list(page: PageRequest, featureSetId?: string, parentRunId?: string): Promise<Page<RunRow>> {
    const parent = parentRunId === undefined ? isNull(trainingRuns.parentRunId) : eq(trainingRuns.parentRunId, parentRunId);
    return oldestFirstPage(this.db, trainingRuns, page, trainingRuns.featureSetId, featureSetId, parent);
  }

  /**
   * Takes the oldest run that is queued, or running under a trainer whose heartbeat is older than
   * `staleBefore` (that trainer died: the run resumes from its last checkpoint). SKIP LOCKED lets
   * several trainers claim at once without taking the same run.
   */
  async claimNext(worker: string, staleBefore: Date): Promise<RunRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [candidate] = await tx
        .select()
        .from(trainingRuns)
        .where(or(eq(trainingRuns.status, 'queued'), and(eq(trainingRuns.status, 'running'), lt(trainingRuns.heartbeatAt, staleBefore))))
        .orderBy(asc(trainingRuns.createdAt))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!candidate) return undefined;
      const resumed = candidate.status === 'running';
      const [claimed] = await tx
        .update(trainingRuns)
        .set({
          status: 'running',
          worker,
          heartbeatAt: sql`now()`,
          startedAt: candidate.startedAt ?? sql`now()`,
          resumes: resumed ? candidate.resumes + 1 : candidate.resumes,
          // A resumed run's phase is what its dead trainer was doing: this one has not begun yet.
          phase: null,
        })
        .where(eq(trainingRuns.id, candidate.id))
        .returning();
      return claimed;
    });
  }

  /** Says the worker still holds the run; returns whether a cancel was asked for meanwhile. */
  async heartbeat(id: string, worker: string): Promise<{ cancelRequested: boolean; stillOwned: boolean }> {
    const [row] = await this.db
      .update(trainingRuns)
      .set({ heartbeatAt: sql`now()` })
      .where(and(eq(trainingRuns.id, id), eq(trainingRuns.worker, worker), eq(trainingRuns.status, 'running')))
      .returning({ cancelRequested: trainingRuns.cancelRequested });
    return { cancelRequested: row?.cancelRequested ?? false, stillOwned: !!row };
  }

  /**
   * Records what the worker is doing with the run now, checked against contracts' runPhaseSchema
   * (a bad phase is an error naming the field, and nothing is written). Only the worker holding
   * the running run writes it, so a late write can never bring back the phase of a finished or
   * handed-over run; returns whether it was written.
   */
  async setPhase(id: string, worker: string, phase: RunPhase): Promise<boolean> {
    const checked = parseRunPhase(phase);
    const updated = await this.db
      .update(trainingRuns)
      .set({ phase: checked })
      .where(and(eq(trainingRuns.id, id), eq(trainingRuns.worker, worker), eq(trainingRuns.status, 'running')))
      .returning({ id: trainingRuns.id });
    return updated.length > 0;
  }

  /** Lets another trainer take the run over at once (this one is shutting down); nothing is being done with it meanwhile. */
  async release(id: string, worker: string): Promise<void> {
    await this.db
      .update(trainingRuns)
      .set({ heartbeatAt: sql`to_timestamp(0)`, phase: null })
      .where(and(eq(trainingRuns.id, id), eq(trainingRuns.worker, worker), eq(trainingRuns.status, 'running')));
  }

  /**
   * A queued run is cancelled at once; a running one is flagged and stops at its next batch. The
   * run's search shares (if any) with it: a cancelled search trains nothing more.
   */
  async requestCancel(id: string): Promise<RunRow | undefined> {
    const runOrShares = or(eq(trainingRuns.id, id), eq(trainingRuns.parentRunId, id));
    await this.db.transaction(async (tx) => {
      await tx
        .update(trainingRuns)
        .set({ status: 'cancelled', cancelRequested: true, finishedAt: sql`now()` })
        .where(and(runOrShares, eq(trainingRuns.status, 'queued')));
      await tx.update(trainingRuns).set({ cancelRequested: true }).where(and(runOrShares, eq(trainingRuns.status, 'running')));
    });
    return this.get(id);
  }

  async recordEpoch(metric: NewEpochMetric, progress: { epochsDone: number; bestEpoch: number | null; bestValLoss: number | null; artifactsPath: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx
        .insert(epochMetrics)
        .values(metric)
        .onConflictDoUpdate({
          target: [epochMetrics.runId, epochMetrics.epoch],
          set: {
            trainLoss: metric.trainLoss,
            trainAccuracy: metric.trainAccuracy,
            valLoss: metric.valLoss,
            valAccuracy: metric.valAccuracy,
            learningRate: metric.learningRate,
            durationMs: metric.durationMs,
            rowsPerSecond: metric.rowsPerSecond,
          },
        });
      await tx.update(trainingRuns).set({ ...progress, heartbeatAt: sql`now()` }).where(eq(trainingRuns.id, metric.runId));
    });
  }

  async epochs(runId: string): Promise<EpochMetricRow[]> {
    return this.db.select().from(epochMetrics).where(eq(epochMetrics.runId, runId)).orderBy(asc(epochMetrics.epoch));
  }

  async saveEvaluation(evaluation: NewEvaluation): Promise<void> {
    await this.db
      .insert(evaluations)
      .values(evaluation)
      .onConflictDoUpdate({
        target: [evaluations.runId, evaluations.split],
        set: { ...evaluation, createdAt: sql`now()` },
      });
  }

  async evaluations(runId: string): Promise<EvaluationRow[]> {
    return this.db.select().from(evaluations).where(eq(evaluations.runId, runId)).orderBy(desc(evaluations.split));
  }

  /** Ends the run; its phase is cleared (a finished run is doing nothing). */
  async finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', error?: string): Promise<void> {
    await this.db
      .update(trainingRuns)
      .set({ status, error: error ?? null, phase: null, finishedAt: sql`now()` })
      .where(and(eq(trainingRuns.id, id), inArray(trainingRuns.status, ['queued', 'running'])));
  }

  /**
   * Records what the worker published for the run, once every object is in (see
   * publishedArtifacts); only the worker holding the running run writes it. Returns whether it did.
   */
  async recordPublishedArtifacts(id: string, worker: string, artifacts: Array<{ name: string; bytes: number; digest: string }>): Promise<boolean> {
    const updated = await this.db
      .update(trainingRuns)
      .set({ publishedArtifacts: artifacts })
      .where(and(eq(trainingRuns.id, id), eq(trainingRuns.worker, worker), eq(trainingRuns.status, 'running')))
      .returning({ id: trainingRuns.id });
    return updated.length > 0;
  }

  /** Succeeded runs with nothing published: trained before trainers published their artifacts. */
  async unpublishedSucceeded(): Promise<RunRow[]> {
    return this.db
      .select()
      .from(trainingRuns)
      .where(and(eq(trainingRuns.status, 'succeeded'), isNull(trainingRuns.publishedArtifacts)))
      .orderBy(asc(trainingRuns.createdAt));
  }

  /**
   * Records the artifacts published late for a run that succeeded before publishing existed; the
   * first trainer to record wins (several may find the same run at start). Returns whether it did.
   */
  async recordLatePublishedArtifacts(id: string, artifacts: Array<{ name: string; bytes: number; digest: string }>): Promise<boolean> {
    const updated = await this.db
      .update(trainingRuns)
      .set({ publishedArtifacts: artifacts })
      .where(and(eq(trainingRuns.id, id), eq(trainingRuns.status, 'succeeded'), isNull(trainingRuns.publishedArtifacts)))
      .returning({ id: trainingRuns.id });
    return updated.length > 0;
  }

  async setConfig(id: string, config: Record<string, unknown>): Promise<void> {
    await this.db.update(trainingRuns).set({ config }).where(eq(trainingRuns.id, id));
  }
}
