import { parseRunPhase, RunPhase } from '@featx/contracts';
import type { EpochMetricRow, EvaluationRow, RunRow, RunsRepository } from '../repositories/runs.repository';
import type { Page, PageRequest } from '../repositories/keyset-page';
import { inMemoryPage } from './in-memory-page';

type Used =
  | 'createQueued'
  | 'get'
  | 'list'
  | 'claimNext'
  | 'setPhase'
  | 'release'
  | 'requestCancel'
  | 'finish'
  | 'epochs'
  | 'evaluations'
  | 'recordPublishedArtifacts'
  | 'unpublishedSucceeded'
  | 'recordLatePublishedArtifacts';
type Published = NonNullable<RunRow['publishedArtifacts']>;

/** Training runs in memory, claimed and finished by the same rules as in Postgres. */
export class InMemoryRunsRepository implements Pick<RunsRepository, Used> {
  readonly runs = new Map<string, RunRow>();
  readonly epochRows: EpochMetricRow[] = [];
  readonly evaluationRows: EvaluationRow[] = [];
  private created = 0;

  async createQueued(run: { id: string; featureSetId: string; config: Record<string, unknown>; classes: string[] }): Promise<RunRow> {
    if (!this.runs.has(run.id)) {
      this.runs.set(run.id, {
        ...run,
        kind: 'model',
        parentRunId: null,
        share: null,
        status: 'queued',
        error: null,
        cancelRequested: false,
        worker: null,
        heartbeatAt: null,
        epochsDone: 0,
        bestEpoch: null,
        bestValLoss: null,
        resumes: 0,
        phase: null,
        artifactsPath: null,
        publishedArtifacts: null,
        // Distinct, increasing creation times: claims go oldest first.
        createdAt: new Date(Date.now() + this.created++),
        startedAt: null,
        finishedAt: null,
      });
    }
    return this.runs.get(run.id)!;
  }

  async get(id: string): Promise<RunRow | undefined> {
    return this.runs.get(id);
  }

  async list(page: PageRequest, featureSetId?: string, parentRunId?: string): Promise<Page<RunRow>> {
    const listed = (r: RunRow) => (featureSetId === undefined || r.featureSetId === featureSetId) && r.parentRunId === (parentRunId ?? null);
    return inMemoryPage(this.byAge().filter(listed), page, (row) => row.id);
  }

  /** The oldest queued run, or running one whose heartbeat is older than `staleBefore` (a resume). */
  async claimNext(worker: string, staleBefore: Date): Promise<RunRow | undefined> {
    const candidate = this.byAge().find((r) => r.status === 'queued' || (r.status === 'running' && r.heartbeatAt !== null && r.heartbeatAt < staleBefore));
    if (!candidate) return undefined;
    const claimed: RunRow = {
      ...candidate,
      status: 'running',
      worker,
      heartbeatAt: new Date(),
      startedAt: candidate.startedAt ?? new Date(),
      resumes: candidate.status === 'running' ? candidate.resumes + 1 : candidate.resumes,
      phase: null,
    };
    this.runs.set(claimed.id, claimed);
    return claimed;
  }

  async setPhase(id: string, worker: string, phase: RunPhase): Promise<boolean> {
    const checked = parseRunPhase(phase);
    const run = this.runs.get(id);
    if (run?.worker !== worker || run.status !== 'running') return false;
    this.runs.set(id, { ...run, phase: checked });
    return true;
  }

  async release(id: string, worker: string): Promise<void> {
    const run = this.runs.get(id);
    if (run?.worker === worker && run.status === 'running') this.runs.set(id, { ...run, heartbeatAt: new Date(0), phase: null });
  }

  async requestCancel(id: string): Promise<RunRow | undefined> {
    for (const run of this.byAge().filter((r) => r.id === id || r.parentRunId === id)) {
      if (run.status === 'queued') this.runs.set(run.id, { ...run, status: 'cancelled', cancelRequested: true, finishedAt: new Date() });
      if (run.status === 'running') this.runs.set(run.id, { ...run, cancelRequested: true });
    }
    return this.runs.get(id);
  }

  async finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', error?: string): Promise<void> {
    const run = this.runs.get(id);
    if (run && (run.status === 'queued' || run.status === 'running')) this.runs.set(id, { ...run, status, error: error ?? null, phase: null, finishedAt: new Date() });
  }

  async recordPublishedArtifacts(id: string, worker: string, artifacts: Published): Promise<boolean> {
    const run = this.runs.get(id);
    if (run?.worker !== worker || run.status !== 'running') return false;
    this.runs.set(id, { ...run, publishedArtifacts: artifacts });
    return true;
  }

  async unpublishedSucceeded(): Promise<RunRow[]> {
    return this.byAge().filter((r) => r.status === 'succeeded' && r.publishedArtifacts === null);
  }

  async recordLatePublishedArtifacts(id: string, artifacts: Published): Promise<boolean> {
    const run = this.runs.get(id);
    if (run?.status !== 'succeeded' || run.publishedArtifacts !== null) return false;
    this.runs.set(id, { ...run, publishedArtifacts: artifacts });
    return true;
  }

  async epochs(runId: string): Promise<EpochMetricRow[]> {
    return this.epochRows.filter((e) => e.runId === runId).sort((a, b) => a.epoch - b.epoch);
  }

  async evaluations(runId: string): Promise<EvaluationRow[]> {
    return this.evaluationRows.filter((e) => e.runId === runId);
  }

  private byAge(): RunRow[] {
    return [...this.runs.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
