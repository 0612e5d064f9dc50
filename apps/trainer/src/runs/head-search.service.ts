import { Inject, Injectable } from '@nestjs/common';
import { HeadSearchRecord, TrainingConfig } from '@featx/contracts';
import { NewRunCandidate, RunCandidatesRepository, RunsRepository } from '@featx/db';
import { CandidateResult, candidateOptimizer, defaultSearchPlan, HeadSearchPlan, HeadSearchResult, searchHeads } from '@featx/learning';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { requireValidationRows, RunContext, splitRows, throwIfInterrupted } from './run-context';
import { saveRunCheckpoint, TrainingProgress, TrainingState } from './run-checkpoints';
import { saveRunMembers } from './run-members';
import { SplitStreams } from './split-streams.service';

/** Epochs without improvement after which a candidate stops, unless the run gives --patience. */
const SEARCH_PATIENCE = 5;

/**
 * `head: auto`: the search of @featx/learning's searchHeads over the default grid, on the run's
 * splits as stored (each candidate prepares its own inputs; the training split's statistics come
 * from the preparation's pass). Its outcome becomes the run: the leaderboard goes on record, the
 * run's configuration becomes the winner's (with `search` saying so), the winner's epochs become
 * the run's epochs and its best weights the run's checkpoint and model. A trainer that dies during
 * the search leaves nothing of it: the next one searches again.
 *
 * The run's phase is `choosing-head` meanwhile: epochs done and candidates still training.
 */
@Injectable()
export class HeadSearch {
  constructor(
    private readonly streams: SplitStreams,
    private readonly runs: RunsRepository,
    private readonly candidates: RunCandidatesRepository,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async run(context: RunContext): Promise<TrainingState> {
    const plan = this.plan(context);
    const { result, epochMs, trainingRows } = await this.search(context, plan);
    try {
      return await this.adopt(context, plan, result, epochMs, trainingRows);
    } catch (error) {
      result.head.dispose();
      context.members.forEach((member) => member.head.dispose());
      context.members = [];
      throw error;
    }
  }

  /** The run's grid: the default plan for its inputs, its epochs, seed and patience. */
  plan(context: RunContext): HeadSearchPlan {
    const { config } = context;
    const plan = defaultSearchPlan(context.dim, { epochs: config.epochs, seed: config.seed });
    plan.patience = config.earlyStoppingPatience ?? SEARCH_PATIENCE;
    if (config.cvFolds !== undefined) plan.convergedFolds = config.cvFolds;
    return plan;
  }

  /** Searches `plan` on the run's splits (the whole grid, or a search share's part), the phase `choosing-head` meanwhile. */
  async search(context: RunContext, plan: HeadSearchPlan): Promise<{ result: HeadSearchResult; epochMs: number[]; trainingRows: number }> {
    requireValidationRows(context, 'head auto');
    const trainingRows = splitRows(context, 'training');
    context.phase.begin({ step: 'choosing-head', unit: 'epochs', done: 0, total: plan.epochs, rowsPerSecond: null, candidates: plan.candidates.length, of: plan.candidates.length });
    const epochMs: number[] = [];
    let epochStarted = Date.now();
    const result = await searchHeads(
      plan,
      {
        training: (epoch) => this.streams.stream(context, 'training', { order: 'shuffled', epoch, raw: true }),
        validation: () => this.streams.stream(context, 'validation', { order: 'sequential', epoch: 0, raw: true }),
        // An hflip set with mirrored validation images: each candidate judged on image and mirror averaged.
        ...(context.mirrors ? { validationMirrors: () => this.streams.stream(context, 'validation', { order: 'sequential', epoch: 0, raw: true, mirrors: true }) } : {}),
      },
      {
        dim: context.dim,
        classes: context.classes.length,
        standardization: context.standardization,
        engine: context.engine,
        classWeights: context.classWeights,
        convergedMaxBytes: this.config.training.convergedMaxBytes,
        beforeBatch: () => throwIfInterrupted(context.flags),
        onEpochStart: () => {
          epochStarted = Date.now();
        },
        onEpoch: (epoch, candidates) => {
          const ms = Date.now() - epochStarted;
          epochMs.push(ms);
          const training = candidates.filter((c) => c.outcome === 'trained' && c.epochsTrained === epoch + 1).length;
          context.phase.searchEpochsDone(epoch + 1, training, (trainingRows * 1000) / Math.max(ms, 1));
        },
      },
    );
    return { result, epochMs, trainingRows };
  }

  /** The winner becomes the run: leaderboard, configuration, epochs, checkpoint. */
  private async adopt(context: RunContext, plan: HeadSearchPlan, result: HeadSearchResult, epochMs: number[], trainingRows: number): Promise<TrainingState> {
    const { run, artifacts } = context;
    const winner = result.candidates[result.winner];
    await this.candidates.replace(run.id, leaderboardRows(result));
    const record: HeadSearchRecord = {
      chosen: winner.name,
      candidates: plan.candidates.length,
      epochs: plan.epochs,
      patience: plan.patience,
      rungs: plan.rungs,
      members: result.ensemble.members.map((i) => result.candidates[i].name),
      ensembles: result.ensemble.byK.map(({ k, valAccuracy, valLoss }) => ({ k, valAccuracy, valLoss })),
      testTimeAugment: result.testTimeMirrors ? 'hflip' : 'none',
      ...convergedFoldsOf(result),
      ...(result.convergedPreference ? { convergedPreference: preferenceRecord(result) } : {}),
    };
    const resolved = winnerConfig(context.config, plan, winner, record);
    context.statistics = context.standardization;
    if (!resolved.standardize) context.standardization = null;
    // The ensemble's further members, kept before the configuration goes on record (a trainer taking over rebuilds them).
    context.members = result.ensemble.members.slice(1).map((i) => ({
      head: result.candidateHead(i)!,
      input: result.candidates[i].settings.input,
      standardization: result.candidates[i].settings.input === 'standardized' ? context.statistics : null,
    }));
    await saveRunMembers(artifacts, context.members);
    const best = winner.history[winner.bestEpoch! - 1];
    const progress: TrainingProgress = { epochsDone: winner.epochsTrained, bestEpoch: winner.bestEpoch, bestValLoss: best.valLoss, epochsSinceBest: winner.epochsTrained - winner.bestEpoch! };
    // The checkpoint first: a trainer that dies before the configuration is on record searches again.
    await saveRunCheckpoint(artifacts, result.head, progress, true);
    await this.runs.setConfig(run.id, resolved);
    context.config = resolved;
    for (const epoch of winner.history) {
      const ms = epochMs[epoch.epoch - 1] ?? 0;
      await this.runs.recordEpoch(
        { runId: run.id, ...epoch, durationMs: ms, rowsPerSecond: (trainingRows * 1000) / Math.max(ms, 1) },
        { epochsDone: epoch.epoch, bestEpoch: progress.bestEpoch, bestValLoss: progress.bestValLoss, artifactsPath: artifacts.relativePath },
      );
    }
    this.logger.info('head chosen on the validation split', {
      runId: run.id,
      chosen: winner.name,
      members: record.members,
      ensembleValAccuracy: result.ensemble.valAccuracy,
      testTimeAugment: record.testTimeAugment,
      valAccuracy: winner.valAccuracy,
      bestEpoch: winner.bestEpoch,
      knn: result.knn,
      knnSkipped: result.knnSkipped,
      convergedSkipped: result.convergedSkipped,
      convergedSample: result.convergedSample,
      convergedPreference: record.convergedPreference,
    });
    return { head: result.head, progress };
  }
}

/** The winner's settings as a run configuration: what it trained with, the epochs it trained, and the search it won. */
export function winnerConfig(config: TrainingConfig, plan: HeadSearchPlan, winner: Pick<CandidateResult, 'settings' | 'epochsTrained'>, search: HeadSearchRecord): TrainingConfig {
  const { settings } = winner;
  const optimizer = candidateOptimizer(settings, plan.epochs);
  // The search is over: its split and folds are on record in `search.shares` and `search.convergedFolds`; a chosen head takes neither.
  const { searchShares: _shares, cvFolds: _folds, ...rest } = config;
  return {
    ...rest,
    head: settings.kind,
    l2: settings.l2,
    dropout: settings.dropout,
    optimizer: settings.optimizer,
    learningRate: settings.learningRate,
    ...(optimizer.kind === 'sgd' ? { momentum: optimizer.momentum ?? 0 } : {}),
    decay: optimizer.decay ?? 0,
    standardize: settings.input === 'standardized',
    normalize: settings.input === 'power' ? 'power' : 'none',
    epochs: winner.epochsTrained,
    earlyStoppingPatience: plan.patience,
    search,
  };
}

/** The folds of the converged candidates' cross-validation, where it ran (the run's record). */
function convergedFoldsOf(result: HeadSearchResult): Pick<HeadSearchRecord, 'convergedFolds'> {
  const folds = result.candidates.find((c) => c.crossValidation)?.crossValidation?.folds;
  return folds === undefined ? {} : { convergedFolds: folds };
}

/** How the validation leader and the cross-validated converged candidate compared, by name (the run's record). */
function preferenceRecord(result: HeadSearchResult): NonNullable<HeadSearchRecord['convergedPreference']> {
  const { leader, converged, accuracyMargin, standardError, winner } = result.convergedPreference!;
  const name = (i: number) => result.candidates[i].name;
  return { leader: name(leader), converged: name(converged), accuracyMargin, standardError, winner: name(winner) };
}

/**
 * Every candidate and the kNN baseline, as leaderboard rows; `positionOf` maps a candidate of the
 * result to its place in the run's grid (a search share's part), the baseline after the grid's
 * `gridSize` heads.
 */
export function leaderboardRows(result: HeadSearchResult, positionOf: (index: number) => number = (index) => index, gridSize = result.candidates.length): NewRunCandidate[] {
  const rows: NewRunCandidate[] = result.candidates.map((c, index) => ({
    position: positionOf(index),
    name: c.name,
    settings: { ...c.settings },
    outcome: c.outcome,
    epochsTrained: c.epochsTrained,
    bestEpoch: c.bestEpoch,
    prunedAfter: c.prunedAfter,
    valAccuracy: c.valAccuracy,
    valLoss: c.valLoss,
    trainAccuracy: c.trainAccuracy,
    trainLoss: c.trainLoss,
    cvAccuracy: c.crossValidation?.accuracy ?? null,
    cvLoss: c.crossValidation?.loss ?? null,
    sampleRows: c.sample?.rows ?? null,
    splitRows: c.sample?.of ?? null,
    chosen: index === result.winner,
  }));
  if (result.knn) {
    rows.push({
      position: gridSize,
      name: `knn cosine k=${result.knn.k}`,
      settings: { kind: 'knn', metric: 'cosine', k: result.knn.k, byK: result.knn.byK },
      outcome: 'baseline',
      epochsTrained: 1,
      bestEpoch: null,
      prunedAfter: null,
      valAccuracy: result.knn.accuracy,
      valLoss: null,
      trainAccuracy: null,
      trainLoss: null,
      cvAccuracy: null,
      cvLoss: null,
      sampleRows: null,
      splitRows: null,
      chosen: false,
    });
  }
  return rows;
}
