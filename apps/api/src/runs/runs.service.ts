import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import { ArtifactRecord, ArtifactStore, ArtifactUnavailableError, BusClient } from '@featx/bus';
import { cancelRunCommand, createRunCommand, tooFewClasses, EpochMetricView, EvaluationView, ListPage, QueuedCancel, QueuedRun, RunArtifacts, RunCandidateView, RunDetails, RunReport, RunShareView, RunSummary, SPLITS, TrainingConfig } from '@featx/contracts';
import { CommandRow, commands as commandsTable, CommandsRepository, DatabaseHandle, EpochMetricRow, EvaluationRow, FeatureSetsRepository, PageRequest, RunCandidateRow, RunCandidatesRepository, RunRow, RunSharesRepository, RunsRepository } from '@featx/db';
import { DATABASE } from '@featx/runtime';
import { rowView } from '../common/row-view';
import { FieldError, invalidFields } from '../common/zod-body.pipe';
import { PlotFile, PlotImage, renderConfusionPlot, renderCurvesPlot } from './run-plots';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** By file extension; anything else (weights, NumPy arrays) is application/octet-stream. */
const ARTIFACT_CONTENT_TYPES: Record<string, string> = { svg: 'image/svg+xml', png: 'image/png', json: 'application/json' };

@Injectable()
export class RunsService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly featureSets: FeatureSetsRepository,
    private readonly commands: CommandsRepository,
    private readonly client: BusClient,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    private readonly store: ArtifactStore,
    private readonly candidates: RunCandidatesRepository,
    private readonly shares: RunSharesRepository,
  ) {}

  /**
   * Checks the feature set exists and is complete (so a bad request is a 400 here, with nothing
   * written), then records and publishes runs.create with a run id chosen here; the trainer
   * creates the run under that id and trains it. Until it does, the run is seen through its command.
   */
  async create(config: TrainingConfig): Promise<QueuedRun> {
    const errors: FieldError[] = [];
    const set = await this.featureSets.get(config.featureSetId);
    if (!set) errors.push({ field: 'featureSetId', message: `feature set ${config.featureSetId} does not exist` });
    else if (set.status !== 'complete') {
      errors.push({ field: 'featureSetId', message: `feature set ${config.featureSetId} is ${set.status}, not complete: wait for its extraction to finish (featx features show)` });
    }
    const classesError = set ? tooFewClasses(await this.featureSets.datasetOf(set)) : null;
    if (classesError) errors.push({ field: 'featureSetId', message: classesError });
    if (set && config.validationHoldout !== undefined && (await this.featureSets.labelCounts(set.id, 'validation')).size > 0) {
      errors.push({ field: 'validationHoldout', message: `feature set ${set.id} has a validation split: a held-out one is for sets without; leave it out` });
    }
    if (config.head === 'logistic' && config.hidden !== undefined) {
      errors.push({ field: 'hidden', message: 'hidden layers are for the mlp head; a logistic head has none' });
    }
    if (errors.length > 0) throw invalidFields(errors);
    const id = randomUUID();
    const runId = randomUUID();
    const command = { ...config, runId };
    await this.commands.insertQueued(id, createRunCommand.name, command);
    await this.client.dispatch(createRunCommand, { v: 1, id, ...command }, { msgId: id });
    return { commandId: id, runId, type: createRunCommand.name, status: 'queued' };
  }

  /** The runs users started, or (given parentRunId) the search shares of that run. */
  async list(page: PageRequest, featureSetId?: string, parentRunId?: string): Promise<ListPage<RunSummary>> {
    const { items, next } = await this.runs.list(page, featureSetId, parentRunId);
    return { items: items.map(summarize), next };
  }

  async get(id: string): Promise<RunDetails> {
    const run = await this.runs.get(id);
    if (!run) return { ...(await this.pending(id)), epochMetrics: [], candidates: [], shares: [] };
    const details: RunDetails = { ...summarize(run), epochMetrics: (await this.runs.epochs(id)).map(epochView), candidates: leaderboard(await this.candidates.list(id)) };
    if (run.share) return { ...details, share: run.share };
    return { ...details, shares: run.kind === 'model' ? (await this.shares.of(id)).map(shareView) : [] };
  }

  /** Publishes runs.cancel: a queued run is cancelled at once, a running one stops at its next batch. */
  async cancel(id: string): Promise<QueuedCancel> {
    const run = await this.runs.get(id);
    const status = run ? run.status : (await this.pending(id)).status;
    if (FINISHED.has(status)) throw new ConflictException(`run ${id} is already ${status}`);
    const commandId = randomUUID();
    const command = { runId: id };
    await this.commands.insertQueued(commandId, cancelRunCommand.name, command);
    await this.client.dispatch(cancelRunCommand, { v: 1, id: commandId, ...command }, { msgId: commandId });
    return { commandId, runId: id, type: cancelRunCommand.name, status: 'queued' };
  }

  async report(id: string): Promise<RunReport> {
    const run = await this.runs.get(id);
    if (!run) {
      const pending = await this.pending(id);
      return { runId: id, status: pending.status, classes: [], evaluations: [] };
    }
    const evaluations = (await this.runs.evaluations(id)).sort((a, b) => SPLITS.indexOf(a.split) - SPLITS.indexOf(b.split));
    return { runId: id, status: run.status, classes: run.classes, evaluations: evaluations.map(evaluationView) };
  }

  /** A plot drawn now from the rows: the training curves, or the confusion matrix of the evaluation split. */
  async plot(id: string, file: PlotFile): Promise<PlotImage> {
    const run = await this.runs.get(id);
    if (!run) {
      await this.pending(id); // 404 when there is no such run at all
      throw new ConflictException(`run ${id} has not started yet: nothing to draw`);
    }
    if (file.startsWith('curves.')) {
      const epochs = await this.runs.epochs(id);
      if (epochs.length === 0) throw new ConflictException(`run ${id} has no finished epoch yet: no training curves to draw`);
      return renderCurvesPlot(run, epochs, file);
    }
    const evaluation = (await this.runs.evaluations(id)).find((e) => e.split === 'evaluation');
    if (!evaluation) throw new ConflictException(`run ${id} has no evaluation of the evaluation split yet: no confusion matrix to draw`);
    return renderConfusionPlot(run, evaluation, file);
  }

  /** The objects the run's trainer published (on record; see training_runs.published_artifacts). */
  async artifacts(id: string): Promise<RunArtifacts> {
    const run = await this.runs.get(id);
    if (!run) return { runId: id, status: (await this.pending(id)).status, bucket: this.store.bucket, artifacts: [] };
    return { runId: id, status: run.status, bucket: this.store.bucket, artifacts: run.publishedArtifacts ?? [] };
  }

  /** One published object, streamed from the artifacts bucket over NATS. */
  async artifact(id: string, name: string): Promise<{ record: ArtifactRecord; body: Readable; contentType: string }> {
    const { artifacts, status } = await this.artifacts(id);
    const record = artifacts.find((a) => a.name === name);
    if (!record) {
      const published = artifacts.length > 0 ? `it published ${artifacts.map((a) => a.name).join(', ')}` : `it has published nothing (${status === 'succeeded' ? 'trained before runs published their artifacts' : status})`;
      throw new NotFoundException(`run ${id} has no artifact "${name}": ${published}`);
    }
    const body = await this.store.open(id, record).catch((error: Error) => {
      throw error instanceof ArtifactUnavailableError ? new ConflictException(error.message) : error;
    });
    return { record, body, contentType: ARTIFACT_CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream' };
  }

  /**
   * A run the trainer has not created yet, seen through its runs.create command: queued while the
   * command waits or runs, failed (with the command's reason) when the trainer refused it.
   */
  private async pending(id: string): Promise<RunSummary> {
    const [command] = await this.database.db
      .select()
      .from(commandsTable)
      .where(and(eq(commandsTable.type, createRunCommand.name), sql`${commandsTable.payload}->>'runId' = ${id}`))
      .orderBy(asc(commandsTable.createdAt))
      .limit(1);
    if (!command || command.status === 'succeeded') throw new NotFoundException(`run ${id} not found`);
    return pendingSummary(id, command);
  }
}

function summarize(row: RunRow): RunSummary {
  const columns = rowView(row, [
    'id', 'featureSetId', 'kind', 'parentRunId', 'status', 'error', 'config', 'classes', 'epochsDone', 'bestEpoch', 'bestValLoss',
    'resumes', 'cancelRequested', 'worker', 'heartbeatAt', 'phase', 'createdAt', 'startedAt', 'finishedAt',
  ]);
  return { ...columns, epochs: plannedEpochs(row.config) };
}

function pendingSummary(id: string, command: CommandRow): RunSummary {
  const { runId: _runId, ...config } = command.payload;
  const refused = command.status === 'failed' || command.status === 'rejected';
  return {
    id,
    featureSetId: String(config.featureSetId),
    kind: 'model',
    parentRunId: null,
    status: refused ? 'failed' : 'queued',
    error: refused ? (command.error ?? `the ${createRunCommand.name} command was ${command.status}`) : null,
    config,
    classes: [],
    epochs: plannedEpochs(config),
    epochsDone: 0,
    bestEpoch: null,
    bestValLoss: null,
    resumes: 0,
    cancelRequested: false,
    worker: null,
    heartbeatAt: null,
    phase: null,
    createdAt: command.createdAt.toISOString(),
    startedAt: null,
    finishedAt: refused ? (command.finishedAt?.toISOString() ?? null) : null,
  };
}

/** A search share as its parent run lists it. */
function shareView(row: RunRow): RunShareView {
  const share = row.share!;
  return {
    id: row.id,
    index: share.index,
    status: row.status,
    error: row.error,
    worker: row.worker,
    resumes: row.resumes,
    positions: share.positions,
    seed: share.seed,
    knn: share.knn,
    phase: row.phase,
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

function plannedEpochs(config: Record<string, unknown>): number {
  return typeof config.epochs === 'number' ? config.epochs : 0;
}

function epochView(row: EpochMetricRow): EpochMetricView {
  const columns = rowView(row, ['epoch', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'learningRate', 'durationMs', 'rowsPerSecond']);
  return { ...columns, at: row.createdAt.toISOString() };
}

function evaluationView(row: EvaluationRow): EvaluationView {
  const columns = rowView(row, ['split', 'accuracy', 'loss', 'perClass', 'macroAvg', 'weightedAvg', 'confusion', 'report']);
  return { ...columns, at: row.createdAt.toISOString() };
}

/** A search's candidates best first: validation accuracy, then log loss, then grid order. */
export function leaderboard(rows: RunCandidateRow[]): RunCandidateView[] {
  const ranked = [...rows].sort(
    (a, b) => (b.valAccuracy ?? -1) - (a.valAccuracy ?? -1) || (a.valLoss ?? Infinity) - (b.valLoss ?? Infinity) || a.position - b.position,
  );
  return ranked.map((row, i) => ({
    rank: i + 1,
    name: row.name,
    settings: row.settings,
    outcome: row.outcome,
    epochsTrained: row.epochsTrained,
    bestEpoch: row.bestEpoch,
    prunedAfter: row.prunedAfter,
    valAccuracy: row.valAccuracy,
    valLoss: row.valLoss,
    trainAccuracy: row.trainAccuracy,
    trainLoss: row.trainLoss,
    cvAccuracy: row.cvAccuracy,
    cvLoss: row.cvLoss,
    sampleRows: row.sampleRows,
    splitRows: row.splitRows,
    chosen: row.chosen,
  }));
}
