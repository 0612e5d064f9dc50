import { FeatureBatch } from './batches';
import { CandidateViews, PassResult, trainCandidatesPass } from './candidates';
import { CosineKnn, KNN_K_GRID, KnnResult } from './cosine-knn';
import { createHead, HeadEngineChoice, HeadRestore, TrainableHead } from './head';
import { HeadKind } from './head-spec';
import { L2_GRID } from './l2-selection';
import { crossValidateLogistic } from './logistic-cv';
import { fitLogisticPath, LogisticWeights } from './logistic-lbfgs';
import { OptimizerSpec, ResolvedOptimizerSpec, TUTORIAL_SGD } from './optimizers';
import { powerNormalizeInPlace } from './power-normalization';
import { averageWithMirrors, meanProbabilities, mirrorRowsOf, probabilitiesPass, scoreProbabilities } from './probability-scores';
import { Standardization, standardizeInPlace } from './stats';
import { RandomSource, seededRandom } from './seeded-random';

/**
 * `--head auto`: candidate heads trained together on one feature set, each batch read once (and
 * transformed once per input view), judged on the validation split; the winner's best epoch is the
 * model. Successive halving keeps the search to a few fits: after each rung's epoch only the best
 * fraction of the candidates trains on, and every candidate stops early on its own.
 */

/** How a candidate's inputs are prepared: as stored, standardized (training mean and std), or power-normalized. */
export const INPUT_VIEWS = ['raw', 'standardized', 'power'] as const;
export type InputView = (typeof INPUT_VIEWS)[number];

/**
 * One point of the grid: everything that makes the candidate, besides the run's seed and batch size.
 * `lbfgs`: logistic regression fit to convergence on the whole training split held in memory
 * (fitLogisticPath) after the first epoch's read, instead of trained by steps; its
 * learningRate is L-BFGS' first trial step length (1).
 */
export interface CandidateSettings {
  kind: HeadKind;
  input: InputView;
  optimizer: 'sgd' | 'adam' | 'lbfgs';
  learningRate: number;
  l2: number;
  dropout: number;
}

/** After `epoch` epochs, the best `keep` fraction of the candidates still in the search trains on (at least one). */
export interface SearchRung {
  epoch: number;
  keep: number;
}

export interface HeadSearchPlan {
  candidates: CandidateSettings[];
  /** Most epochs any candidate trains (SGD's time-based decay is lr / epochs over them, as the tutorial's). */
  epochs: number;
  /** A candidate stops once neither its validation accuracy nor its loss improved for this many epochs. */
  patience: number;
  rungs: SearchRung[];
  /** k values of the cosine kNN baseline; empty: no baseline. */
  knnK: number[];
  seed: number;
  /**
   * The model may be the average of the best k candidates (k from 1 to this, chosen on the
   * validation split, the smallest on ties); absent or 1: the best candidate alone.
   */
  ensembleMax?: number;
  /**
   * Folds of the converged (lbfgs) candidates' cross-validation on the training split
   * (crossValidateLogistic, `--cv-folds`): the one with the best held-out score, over every view and
   * strength, stays in the race, and a step-trained leader must beat it by more than one standard
   * error (preferConverged); the others are `ruled-out`, scored but never the model. Absent or 0:
   * no cross-validation, every candidate judged on the validation split alone.
   */
  convergedFolds?: number;
}

/** Most candidates the default plan's model averages. */
export const ENSEMBLE_MAX = 5;

/**
 * Adam moves every weight by about its learning rate a step, so a logit over d inputs by up to
 * lr·d: Keras' default 1e-3 suits a pooled vector's one or two thousand values; above 8,192 values
 * 1e-4 (the rate that took flattened MobileNetV2 features past 90% on clothing-small).
 */
export function adamLearningRate(dim: number): number {
  return dim > 8192 ? 1e-4 : 1e-3;
}

/** L2 strengths of the logistic candidates (L2_GRID without 1, which never won on our sets and costs as much as any). */
export const SEARCH_L2_GRID: readonly number[] = L2_GRID.filter((l2) => l2 < 1);
export const SEARCH_DROPOUTS: readonly number[] = [0, 0.5];

/**
 * L2 strengths of the converged (`lbfgs`) logistic candidates, strongest first: each fit starts
 * from the previous one's solution (a regularization path), which converges in fewer iterations.
 * Half-decades, since without early stopping the strength alone sets how far the fit goes; 0.1
 * never won on our sets (and took the most iterations).
 */
export const CONVERGED_L2_GRID: readonly number[] = [0.03, 0.01, 0.003, 0.001];
/**
 * The views the converged candidates fit on: a fit's L2 penalty depends on the inputs' scale, which
 * raw features do not set (raw fits never ranked above the standardized and power ones here).
 */
export const CONVERGED_INPUTS: readonly InputView[] = ['standardized', 'power'];

/**
 * Most bytes of training rows (float32) the converged candidates hold (the fit holds a prepared copy
 * of one view besides); a larger split is fit on a seeded uniform sample of its rows this size.
 */
export const CONVERGED_MAX_BYTES = 256 * 2 ** 20;

/**
 * Fewest rows a sample must hold for the converged candidates to be fit on it (a split that fits
 * whole is fit whatever its size): 52,000 pooled rows of 1,280 values fit CONVERGED_MAX_BYTES, but
 * 1,070 flattened rows of 62,720 would be a fit of 627,200 weights on a sliver of the split.
 */
export const CONVERGED_MIN_SAMPLE_ROWS = 20_000;

/**
 * The default plan for `dim` inputs: logistic regression over SEARCH_L2_GRID and the tutorial's MLP
 * with and without dropout (0.5), each with the tutorial's SGD and with Adam, and logistic
 * regression fit to convergence by L-BFGS over CONVERGED_L2_GRID, on raw, standardized and
 * power-normalized inputs (the lbfgs ones on standardized and power-normalized inputs: 44 heads, in
 * view order), plus the cosine kNN baseline; up to
 * `epochs` epochs, rungs after epochs 1 (keep a third), 3 (a third of those) and 8 (one), patience 5.
 */
export function defaultSearchPlan(dim: number, options: { epochs?: number; seed?: number } = {}): HeadSearchPlan {
  const epochs = options.epochs ?? 25;
  const candidates: CandidateSettings[] = [];
  for (const input of INPUT_VIEWS) {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const learningRate = optimizer === 'sgd' ? TUTORIAL_SGD.learningRate : adamLearningRate(dim);
      for (const l2 of SEARCH_L2_GRID) candidates.push({ kind: 'logistic', input, optimizer, learningRate, l2, dropout: 0 });
      for (const dropout of SEARCH_DROPOUTS) candidates.push({ kind: 'mlp', input, optimizer, learningRate, l2: 0, dropout });
    }
    if (CONVERGED_INPUTS.includes(input)) for (const l2 of CONVERGED_L2_GRID) candidates.push({ kind: 'logistic', input, optimizer: 'lbfgs', learningRate: 1, l2, dropout: 0 });
  }
  const rungs = [
    { epoch: 1, keep: 1 / 3 },
    { epoch: 3, keep: 1 / 3 },
    { epoch: 8, keep: 0 },
  ].filter((rung) => rung.epoch < epochs);
  return { candidates, epochs, patience: 5, rungs, knnK: [...KNN_K_GRID], seed: options.seed ?? 42, ensembleMax: ENSEMBLE_MAX };
}

/** A short, stable name: `logistic sgd lr=0.001 l2=0.01 power`, `mlp adam lr=0.0001 dropout=0.5 raw`, `logistic lbfgs l2=0.01 power`. */
export function candidateName(settings: CandidateSettings): string {
  const regularization = settings.kind === 'logistic' ? `l2=${settings.l2}` : `dropout=${settings.dropout}`;
  const rate = settings.optimizer === 'lbfgs' ? '' : ` lr=${settings.learningRate}`;
  return `${settings.kind} ${settings.optimizer}${rate} ${regularization} ${settings.input}`;
}

/**
 * The optimizer a candidate trains with: SGD with the tutorial's momentum and decay lr / epochs, or
 * Adam without decay. An `lbfgs` candidate takes no steps: its head gets plain SGD at its
 * learningRate only because a head has an optimizer (checkpoints record it).
 */
export function candidateOptimizer(settings: CandidateSettings, epochs: number): OptimizerSpec {
  if (settings.optimizer === 'lbfgs') return { kind: 'sgd', learningRate: settings.learningRate, momentum: 0, decay: 0 };
  return settings.optimizer === 'sgd'
    ? { kind: 'sgd', learningRate: settings.learningRate, momentum: TUTORIAL_SGD.momentum, decay: settings.learningRate / epochs }
    : { kind: 'adam', learningRate: settings.learningRate, decay: 0 };
}

/** One epoch of one candidate. */
export interface CandidateEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  learningRate: number;
}

/**
 * `fit`: an lbfgs candidate fit on the whole split (or on a sample of one too large to hold);
 * `ruled-out`: one fit, but another converged candidate scored better in cross-validation (never
 * the model nor a member); `skipped`: one whose split was too large to hold, where a sample small
 * enough would have had too few rows.
 */
export type CandidateOutcome = 'trained' | 'early-stopped' | 'pruned' | 'fit' | 'ruled-out' | 'skipped';

/** An lbfgs candidate's held-out scores in the training split's cross-validation. */
export interface CandidateCrossValidation {
  folds: number;
  accuracy: number;
  loss: number;
  /** The best of the converged candidates: the one that stays in the race. */
  chosen: boolean;
}

export interface CandidateResult {
  settings: CandidateSettings;
  name: string;
  epochsTrained: number;
  /** Its epoch of best validation accuracy (ties: lower loss), and the metrics there. */
  bestEpoch: number | null;
  valAccuracy: number | null;
  valLoss: number | null;
  trainAccuracy: number | null;
  trainLoss: number | null;
  outcome: CandidateOutcome;
  /** The rung epoch it was pruned after. */
  prunedAfter: number | null;
  /** Every epoch it trained, in order. */
  history: CandidateEpoch[];
  /** An lbfgs candidate's cross-validation on the training split, where the plan asked for it. */
  crossValidation?: CandidateCrossValidation | null;
  /** An lbfgs candidate fit on a sample of a training split too large to hold: the sample's rows, of the split's. */
  sample?: { rows: number; of: number } | null;
}

/** The model the search chose: its members' probabilities averaged (one: the winner alone). */
export interface EnsembleChoice {
  /** Candidate indices: the winner, then the others by validation loss. */
  members: number[];
  valAccuracy: number;
  valLoss: number;
  /** Each k tried: its members and validation scores. */
  byK: Array<{ k: number; members: number[]; valAccuracy: number; valLoss: number }>;
}

export interface HeadSearchResult {
  candidates: CandidateResult[];
  /** Index of the winner in `candidates`. */
  winner: number;
  /** The chosen average of the best candidates (members[0] = winner). */
  ensemble: EnsembleChoice;
  /** Validation was scored with each image's probabilities averaged with its mirror's. */
  testTimeMirrors: boolean;
  /** The winner at its best epoch (optimizer state reset): the run's model. The caller disposes it. */
  head: TrainableHead;
  knn: KnnResult | null;
  /** Why there is no kNN result where there is none. */
  knnSkipped: string | null;
  /** Why the plan's lbfgs candidates were not fit, where they were not. */
  convergedSkipped: string | null;
  /** Where they were fit on a sample of the training rows (the split was too large to hold): its rows, of how many. */
  convergedSample: { rows: number; of: number } | null;
  /** Where a step-trained candidate led the validation ranking over the cross-validated converged one: how they compared (preferConverged). */
  convergedPreference: ConvergedPreference | null;
  /** Candidate `index` at its best epoch, where its weights were kept (all with keepAllSnapshots, else the survivors'); the caller disposes it. */
  candidateHead(index: number): TrainableHead | undefined;
}

export interface HeadSearchSources {
  /** The training split as stored, in epoch `epoch`'s order (0-based). */
  training(epoch: number): AsyncIterable<FeatureBatch>;
  /** The validation split as stored. */
  validation(): AsyncIterable<FeatureBatch>;
  /**
   * The validation images' mirrors (an hflip set's augmented validation rows): present, each
   * candidate is scored on an image's probabilities averaged with its mirror's (test-time
   * augmentation). Row mirrorOf[i] (options.validationMirrorOf; absent: row i) mirrors validation row i.
   */
  validationMirrors?(): AsyncIterable<FeatureBatch>;
}

export interface HeadSearchOptions {
  dim: number;
  classes: number;
  /** Statistics of the training split, needed where a candidate's input is `standardized`. */
  standardization: Standardization | null;
  engine?: HeadEngineChoice;
  classWeights?: Float32Array;
  /** The kNN baseline is skipped when its validation copy would take more than this (default 1 GiB). */
  knnMaxBytes?: number;
  /**
   * The `lbfgs` candidates fit on a seeded uniform sample of the training rows when the split as
   * float32 would take more than this (default CONVERGED_MAX_BYTES), and are skipped when such a
   * sample would hold fewer than `convergedMinSampleRows` rows (default CONVERGED_MIN_SAMPLE_ROWS).
   */
  convergedMaxBytes?: number;
  convergedMinSampleRows?: number;
  /** Keep every candidate's best weights, pruned ones included (a benchmark scoring them all); default: the survivors' and the best plan.ensembleMax. */
  keepAllSnapshots?: boolean;
  /** With sources.validationMirrors: the mirror row of each validation row; absent: paired by the batches' image ids where they carry them, else the same row. */
  validationMirrorOf?: Int32Array | null;
  beforeBatch?: () => void;
  /** An epoch (0-based) begins, with the candidates that train in it. */
  onEpochStart?: (epoch: number, active: number) => void;
  onEpoch?: (epoch: number, candidates: readonly CandidateResult[]) => void | Promise<void>;
}

/** A head's parameters at one epoch, with the names and sizes of its optimizer's slots (rebuilt as zeros). */
interface Snapshot {
  step: number;
  values: Map<string, Float32Array>;
}

/** Runs the search; the result's head is the winner at its best epoch. */
export async function searchHeads(plan: HeadSearchPlan, sources: HeadSearchSources, options: HeadSearchOptions): Promise<HeadSearchResult> {
  checkPlan(plan, options);
  const { dim, classes } = options;
  const heads = plan.candidates.map((settings) =>
    createHead({ kind: settings.kind, inputDim: dim, classes, dropout: settings.dropout, l2: settings.l2 }, plan.seed, candidateOptimizer(settings, plan.epochs), undefined, {
      engine: options.engine,
    }),
  );
  const results: CandidateResult[] = plan.candidates.map((settings) => ({
    settings,
    name: candidateName(settings),
    epochsTrained: 0,
    bestEpoch: null,
    valAccuracy: null,
    valLoss: null,
    trainAccuracy: null,
    trainLoss: null,
    outcome: 'trained',
    prunedAfter: null,
    history: [],
  }));
  // What rebuilds a candidate from its snapshot once its head is gone.
  const specs = heads.map((h) => ({ spec: h.spec, seed: h.seed, optimizer: h.optimizer.spec }));
  const disposed = new Set<number>();
  // A candidate that leaves the search frees its weights and optimizer state at once (its best epoch is in its snapshot).
  const retire = (i: number) => {
    active.delete(i);
    if (!disposed.has(i)) heads[i].dispose();
    disposed.add(i);
  };
  const snapshots: Array<Snapshot | undefined> = heads.map(() => undefined);
  // Each candidate's validation probabilities at its best epoch (mirror-averaged where mirrored): what ensembles are chosen by.
  const bestProbabilities: Array<Float32Array | undefined> = heads.map(() => undefined);
  const ensembleMax = Math.max(1, plan.ensembleMax ?? 1);
  let validationLabels: Int32Array = new Int32Array(0);
  const sinceImproved = heads.map(() => 0);
  const bestLoss = heads.map(() => Infinity);
  // The lbfgs candidates take no steps: they are fit once the first epoch has read the training split.
  const converged = plan.candidates.flatMap((c, i) => (c.optimizer === 'lbfgs' ? [i] : []));
  const active = new Set(heads.flatMap((_, i) => (plan.candidates[i].optimizer === 'lbfgs' ? [] : [i])));
  const transforms = viewTransforms(dim, options.standardization);
  let knn: CosineKnn | undefined;
  let knnSkipped: string | null = plan.knnK.length === 0 ? 'not asked for' : null;
  const convergedMaxBytes = options.convergedMaxBytes ?? CONVERGED_MAX_BYTES;
  const minSampleRows = options.convergedMinSampleRows ?? CONVERGED_MIN_SAMPLE_ROWS;
  const held = converged.length > 0 ? new TrainingSample(dim, Math.max(1, Math.floor(convergedMaxBytes / (dim * 4))), plan.seed, minSampleRows) : undefined;
  let convergedSkipped: string | null = converged.length === 0 ? 'not asked for' : null;
  let convergedSample: HeadSearchResult['convergedSample'] = null;
  try {
    if (plan.knnK.length > 0) {
      const maxBytes = options.knnMaxBytes ?? 2 ** 30;
      const validation = await readAll(sources.validation(), dim, maxBytes, options.beforeBatch);
      if (!validation) knnSkipped = `its copy of the validation split would take more than ${Math.round(maxBytes / 2 ** 20)} MiB`;
      else knn = new CosineKnn(validation, dim, classes, plan.knnK);
    }
    for (let epoch = 0; epoch < plan.epochs && (active.size > 0 || (epoch === 0 && converged.length > 0)); epoch++) {
      const stepping = [...active].sort((a, b) => a - b);
      options.onEpochStart?.(epoch, stepping.length + (epoch === 0 ? converged.length : 0));
      const training = sources.training(epoch);
      const read =
        epoch === 0 && (knn || held)
          ? tap(training, (batch) => {
              knn?.addTraining(batch);
              held?.add(batch);
            })
          : training;
      const viewsOf = (indices: number[]): CandidateViews => ({ transforms, viewOf: indices.map((i) => INPUT_VIEWS.indexOf(plan.candidates[i].input)) });
      let trained: PassResult[] = [];
      if (stepping.length > 0) {
        trained = await trainCandidatesPass(
          stepping.map((i) => heads[i]),
          read,
          { classWeights: options.classWeights, beforeBatch: options.beforeBatch, views: viewsOf(stepping) },
        );
      } else {
        // Nobody steps (a share of lbfgs candidates only): the read is for the fits.
        for await (const _batch of read) options.beforeBatch?.();
      }
      let order = stepping;
      if (epoch === 0 && held) {
        const fits = fitConverged(plan, converged, held, { dim, classes, standardization: options.standardization, classWeights: options.classWeights, beforeBatch: options.beforeBatch });
        if (held.sampled && typeof fits !== 'string') convergedSample = { rows: held.rows, of: held.seen };
        if (typeof fits === 'string') {
          convergedSkipped = fits;
          for (const i of converged) results[i].outcome = 'skipped';
        } else {
          fits.forEach((fit, k) => {
            const i = converged[k];
            results[i].crossValidation = fit.crossValidation;
            results[i].sample = convergedSample;
            heads[i].dispose();
            heads[i] = createHead(specs[i].spec, specs[i].seed, specs[i].optimizer, zeroSlots({ step: 0, values: new Map([['dense_1/kernelT', fit.kernelT], ['dense_1/bias', fit.bias]]) }, specs[i].optimizer), {
              engine: options.engine,
            });
          });
          order = [...stepping, ...converged];
          trained = [...trained, ...fits.map((fit) => ({ loss: fit.loss, accuracy: fit.accuracy, rows: held.seen }))];
        }
        held.release();
      }
      if ((trained[0]?.rows ?? held?.seen ?? 0) === 0) throw new RangeError(`the training split gave no rows in epoch ${epoch + 1}`);
      const activeHeads = order.map((i) => heads[i]);
      const views = viewsOf(order);
      const { scores: validated, probabilities, labels } = await validateCandidates(activeHeads, sources, classes, { beforeBatch: options.beforeBatch, views, mirrorOf: options.validationMirrorOf ?? null });
      validationLabels = labels;
      order.forEach((i, k) => {
        const improved = recordCandidateEpoch(results[i], heads[i], epoch, trained[k], validated[k]);
        if (improved) {
          snapshots[i] = snapshotOf(heads[i]);
          bestProbabilities[i] = probabilities[k];
        }
        // Early stopping on neither metric improving: accuracy alone is coarse on a small split.
        const lossImproved = validated[k].loss < bestLoss[i];
        if (lossImproved) bestLoss[i] = validated[k].loss;
        sinceImproved[i] = improved || lossImproved ? 0 : sinceImproved[i] + 1;
        if (plan.candidates[i].optimizer === 'lbfgs') {
          // Fit once, on every row: nothing more to train (its weights are in its snapshot).
          results[i].outcome = results[i].crossValidation?.chosen === false ? 'ruled-out' : 'fit';
          retire(i);
        } else if (sinceImproved[i] >= plan.patience || !Number.isFinite(validated[k].loss)) {
          results[i].outcome = 'early-stopped';
          retire(i);
        }
      });
      const rung = plan.rungs.find((r) => r.epoch === epoch + 1);
      if (rung) {
        for (const i of prune(results, rung)) {
          results[i].outcome = 'pruned';
          results[i].prunedAfter = rung.epoch;
          retire(i);
        }
        if (!options.keepAllSnapshots) {
          for (const i of prunedWeightsToDrop(results, ensembleMax)) {
            snapshots[i] = undefined;
            bestProbabilities[i] = undefined;
          }
        }
      }
      await options.onEpoch?.(epoch, results);
    }
    const preference = preferConverged(results, selectWinner(results), bestProbabilities, validationLabels, classes);
    const winner = preference.winner;
    const ensemble = chooseEnsemble(results, winner, bestProbabilities, validationLabels, classes, ensembleMax);
    const snapshot = snapshots[winner];
    if (!snapshot) throw new Error(`no weights kept for the winner (${results[winner].name})`);
    const head = createHead(specs[winner].spec, specs[winner].seed, specs[winner].optimizer, zeroSlots(snapshot, specs[winner].optimizer), { engine: options.engine });
    return {
      candidates: results,
      winner,
      ensemble,
      testTimeMirrors: Boolean(sources.validationMirrors),
      head,
      knn: knn?.result() ?? null,
      knnSkipped,
      convergedSkipped,
      convergedSample,
      convergedPreference: preference.compared,
      candidateHead: (index) => {
        const kept = snapshots[index];
        return kept && createHead(specs[index].spec, specs[index].seed, specs[index].optimizer, zeroSlots(kept, specs[index].optimizer), { engine: options.engine });
      },
    };
  } finally {
    knn?.dispose();
    held?.release();
    heads.forEach((_, i) => retire(i));
  }
}

/**
 * The lbfgs candidates fit on the held training rows (all of them, or a sample of a split too large
 * to hold), view by view (each view's copy prepared once, its strengths fit strongest first, each
 * from the previous solution), in the order of `indices`; or why they cannot be.
 */
function fitConverged(
  plan: HeadSearchPlan,
  indices: readonly number[],
  held: TrainingSample,
  options: { dim: number; classes: number; standardization: Standardization | null; classWeights?: Float32Array; beforeBatch?: () => void },
): ConvergedFit[] | string {
  if (held.seen === 0) return 'the training split gave no rows';
  if (held.tooSmall) {
    const mib = Math.round((held.capacity * options.dim * 4) / 2 ** 20);
    return `the training split (${held.seen} rows) does not fit ${mib} MiB as float32, and a sample that does would hold ${held.capacity} rows of ${options.dim} values, fewer than ${held.minRows}`;
  }
  const all = held.all();
  const folds = plan.convergedFolds ?? 0;
  const fits = new Array<ConvergedFit>(indices.length);
  for (const view of INPUT_VIEWS) {
    const mine = indices.map((i, k) => ({ k, settings: plan.candidates[i] })).filter(({ settings }) => settings.input === view);
    if (mine.length === 0) continue;
    const prepared = viewOfBatch(view, all, options.dim, options.standardization);
    const rows = { features: prepared.features, labels: prepared.labels, rows: all.rows, dim: options.dim, classes: options.classes };
    const path = [...mine].sort((a, b) => b.settings.l2 - a.settings.l2);
    // The view's copy is centred in place: one copy of the rows besides the sample, not two. The
    // cross-validation below fits the centred rows: the same models, shifted into their biases.
    const pathFits = fitLogisticPath(
      rows,
      path.map(({ settings }) => settings.l2),
      { classWeights: options.classWeights, beforeFit: options.beforeBatch, centreInPlace: prepared.features !== all.features },
    );
    path.forEach(({ k }, p) => (fits[k] = { ...pathFits[p], crossValidation: null }));
    if (folds >= 2) {
      options.beforeBatch?.();
      const scores = crossValidateLogistic(rows, mine.map(({ settings }) => settings.l2), all.imageIds, { folds, seed: plan.seed, classWeights: options.classWeights });
      mine.forEach(({ k }, m) => (fits[k].crossValidation = { folds, accuracy: scores[m].accuracy, loss: scores[m].loss, chosen: false }));
    }
  }
  // One stays in the race: the best held-out score over every view and strength (the folds are the
  // same for all), then the lower loss, then grid order.
  const scored = fits.flatMap((fit, k) => (fit.crossValidation ? [k] : []));
  if (scored.length > 0) fits[scored.reduce((b, k) => (better(fits[k].crossValidation!, fits[b].crossValidation!) ? k : b))].crossValidation!.chosen = true;
  return fits;
}

type ConvergedFit = LogisticWeights & { loss: number; accuracy: number; iterations: number; crossValidation: CandidateCrossValidation | null };

/**
 * Training rows kept (copies) as they stream past: every row while they fit `capacity` rows, then a
 * uniform sample of that many (reservoir sampling, Algorithm R, seeded: the same stream gives the
 * same sample). The buffer grows as rows come, so a small split holds no more than its own size.
 * With `minRows` above the capacity, a split that outgrows it keeps nothing (the rows held are let
 * go at once: such a sample would be too small to fit on).
 */
export class TrainingSample {
  private features = new Float32Array(0);
  private labels = new Int32Array(0);
  private imageIds: Float64Array | null = new Float64Array(0);
  /** Rows held (at most capacity). */
  rows = 0;
  /** Rows streamed past. */
  seen = 0;
  private readonly random: RandomSource;

  constructor(
    private readonly dim: number,
    readonly capacity: number,
    seed: number,
    readonly minRows = 0,
  ) {
    this.random = seededRandom(seed, 0x5a3e);
  }

  /** Whether rows were left out (the split held more than `capacity` rows). */
  get sampled(): boolean {
    return this.seen > this.rows;
  }

  /** Whether the split outgrew a capacity below `minRows`: nothing is held, nothing to fit on. */
  get tooSmall(): boolean {
    return this.capacity < this.minRows && this.seen > this.capacity;
  }

  add(batch: FeatureBatch): void {
    const carried = (batch as FeatureBatch & { imageIds?: ArrayLike<number> }).imageIds;
    // Ids a source could not read (NaN) group nothing: a batch without them leaves the sample without ids.
    const ids = carried && Array.prototype.every.call(carried, (id: number, r: number) => r >= batch.rows || Number.isFinite(id)) ? carried : undefined;
    if (!ids) this.imageIds = null;
    if (this.capacity < this.minRows && this.seen + batch.rows > this.capacity) {
      if (this.seen <= this.capacity) {
        this.release();
        this.rows = 0;
      }
      this.seen += batch.rows;
      return;
    }
    for (let r = 0; r < batch.rows; r++) {
      const seen = this.seen++;
      let slot: number;
      if (this.rows < this.capacity) {
        slot = this.rows++;
        this.reserve(this.rows);
      } else {
        slot = Math.floor(this.random() * (seen + 1));
        if (slot >= this.capacity) continue;
      }
      this.features.set(batch.features.subarray(r * this.dim, (r + 1) * this.dim), slot * this.dim);
      this.labels[slot] = batch.labels[r];
      if (this.imageIds && ids) this.imageIds[slot] = ids[r];
    }
  }

  /** The rows held in one batch (the sample's buffers handed over), with each row's image id where every batch carried them. */
  all(): FeatureBatch & { imageIds: Float64Array | null } {
    const out = {
      features: this.features.subarray(0, this.rows * this.dim),
      labels: this.labels.subarray(0, this.rows),
      rows: this.rows,
      imageIds: this.imageIds?.subarray(0, this.rows) ?? null,
    };
    this.release();
    return out;
  }

  release(): void {
    this.features = new Float32Array(0);
    this.labels = new Int32Array(0);
    this.imageIds = this.imageIds && new Float64Array(0);
  }

  /** Room for `rows` rows: the buffers doubled (up to capacity) when full. */
  private reserve(rows: number): void {
    if (rows <= this.labels.length) return;
    const size = Math.min(this.capacity, Math.max(rows, 2 * this.labels.length, 256));
    const features = new Float32Array(size * this.dim);
    features.set(this.features);
    const labels = new Int32Array(size);
    labels.set(this.labels);
    this.features = features;
    this.labels = labels;
    if (this.imageIds) {
      const imageIds = new Float64Array(size);
      imageIds.set(this.imageIds);
      this.imageIds = imageIds;
    }
  }
}

/**
 * The candidates' validation scores from their probabilities: each image's alone, or averaged with
 * its mirror's where the sources have mirrors (both passes prepared as the candidate's view).
 */
async function validateCandidates(
  heads: readonly TrainableHead[],
  sources: HeadSearchSources,
  classes: number,
  options: { beforeBatch?: () => void; views: CandidateViews; mirrorOf: Int32Array | null },
): Promise<{ scores: PassResult[]; probabilities: Float32Array[]; labels: Int32Array }> {
  const images = await probabilitiesPass(heads, sources.validation(), options);
  let probabilities = images.probabilities;
  if (sources.validationMirrors) {
    const mirrors = await probabilitiesPass(heads, sources.validationMirrors(), options);
    const mirrorOf = options.mirrorOf ?? (images.imageIds && mirrors.imageIds ? mirrorRowsOf(images.imageIds, mirrors.imageIds) : null);
    probabilities = probabilities.map((p, k) => averageWithMirrors(p, mirrors.probabilities[k], classes, mirrorOf));
  }
  const scores = probabilities.map((p) => scoreProbabilities(p, images.labels, classes));
  return { scores, probabilities, labels: images.labels };
}

/**
 * The model: the winner alone, or the mean of the winner and the next candidates by validation log
 * loss (those whose best validation probabilities were kept; ties by accuracy, then grid order), k
 * from 1 to `max`, chosen by validation log loss, then accuracy, then the smaller k. Loss rather
 * than accuracy, for both: on a few hundred validation rows accuracy moves in steps of a row. It
 * chose k no better than chance (clothing-small, four seeds), and members taken in accuracy order
 * scored no better than in loss order on any of six feature sets, worse on three (README, "Where
 * `--head auto` stands").
 */
export function chooseEnsemble(
  results: readonly CandidateResult[],
  winner: number,
  probabilities: ReadonlyArray<Float32Array | undefined>,
  labels: Int32Array,
  classes: number,
  max: number,
): EnsembleChoice {
  const others = results
    .map((_, i) => i)
    .filter((i) => i !== winner && probabilities[i] && results[i].valAccuracy !== null && results[i].outcome !== 'ruled-out')
    .sort((a, b) => byValidationLoss(results[a], results[b]) || a - b);
  const order = [winner, ...others].slice(0, Math.max(1, max));
  if (!probabilities[winner]) throw new Error(`no validation probabilities kept for the winner (${results[winner].name})`);
  const byK = order.map((_, k) => {
    const score = scoreProbabilities(meanProbabilities(order.slice(0, k + 1).map((i) => probabilities[i]!)), labels, classes);
    return { k: k + 1, members: order.slice(0, k + 1), valAccuracy: score.accuracy, valLoss: score.loss };
  });
  const best = byK.reduce((a, b) => (b.valLoss < a.valLoss || (b.valLoss === a.valLoss && b.valAccuracy > a.valAccuracy) ? b : a));
  return { members: order.slice(0, best.k), valAccuracy: best.valAccuracy, valLoss: best.valLoss, byK };
}

/** The batch as input view `view` wants it (a copy; raw: the batch itself). */
export function viewOfBatch(view: InputView, batch: FeatureBatch, dim: number, standardization: Standardization | null): FeatureBatch {
  if (view === 'raw') return batch;
  const features = batch.features.slice(0, batch.rows * dim);
  if (view === 'standardized') {
    if (!standardization) throw new Error('standardized candidates need the training split statistics');
    standardizeInPlace(features, standardization);
  } else powerNormalizeInPlace(features, dim);
  return { features, labels: batch.labels, rows: batch.rows };
}

function viewTransforms(dim: number, standardization: Standardization | null): Array<(batch: FeatureBatch) => FeatureBatch> {
  return INPUT_VIEWS.map((view) => (batch: FeatureBatch) => viewOfBatch(view, batch, dim, standardization));
}

/** Records the epoch; true when it is the candidate's best so far (higher accuracy, or equal with lower loss). */
function recordCandidateEpoch(result: CandidateResult, head: TrainableHead, epoch: number, training: PassResult, validation: PassResult): boolean {
  result.epochsTrained = epoch + 1;
  result.history.push({ epoch: epoch + 1, trainLoss: training.loss, trainAccuracy: training.accuracy, valLoss: validation.loss, valAccuracy: validation.accuracy, learningRate: head.learningRate });
  const improved = Number.isFinite(validation.loss) && (result.valAccuracy === null || better(validation, { accuracy: result.valAccuracy, loss: result.valLoss ?? Infinity }));
  if (improved) {
    Object.assign(result, { bestEpoch: epoch + 1, valAccuracy: validation.accuracy, valLoss: validation.loss, trainAccuracy: training.accuracy, trainLoss: training.loss });
  }
  return improved;
}

function better(a: { accuracy: number; loss: number }, b: { accuracy: number; loss: number }): boolean {
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss);
}

/**
 * The pruned candidates whose best weights can go: all but those among the `keep` lowest validation
 * losses, possible members of the model (chooseEnsemble takes the winner's companions in that order).
 */
export function prunedWeightsToDrop(results: readonly CandidateResult[], keep: number): number[] {
  const ranked = results.flatMap((r, i) => (r.outcome === 'ruled-out' ? [] : [i])).sort((a, b) => byValidationLoss(results[a], results[b]) || a - b);
  const wanted = new Set(ranked.slice(0, keep));
  return results.flatMap((r, i) => (r.outcome === 'pruned' && !wanted.has(i) ? [i] : []));
}

/** An ensemble's order after its winner: validation log loss, then accuracy; never-validated last. */
function byValidationLoss(a: Pick<CandidateResult, 'valAccuracy' | 'valLoss'>, b: Pick<CandidateResult, 'valAccuracy' | 'valLoss'>): number {
  const lossA = a.valLoss ?? Infinity;
  const lossB = b.valLoss ?? Infinity;
  if (lossA !== lossB) return lossA < lossB ? -1 : 1;
  return (b.valAccuracy ?? -1) - (a.valAccuracy ?? -1);
}

/** Ranking: validation accuracy, then log loss, then grid order; never-validated last. */
export function compareCandidates(a: Pick<CandidateResult, 'valAccuracy' | 'valLoss'>, b: Pick<CandidateResult, 'valAccuracy' | 'valLoss'>): number {
  if (a.valAccuracy === null || b.valAccuracy === null) return a.valAccuracy === null ? (b.valAccuracy === null ? 0 : 1) : -1;
  if (a.valAccuracy !== b.valAccuracy) return b.valAccuracy - a.valAccuracy;
  return (a.valLoss ?? Infinity) - (b.valLoss ?? Infinity);
}

/**
 * The candidates not kept at `rung`: of those not yet pruned, all but the best ⌈keep·n⌉ (at least
 * one). Fit (lbfgs) candidates are ranked with them but never pruned: they train no more, and their
 * scores stay as they are for the final ranking.
 */
function prune(results: readonly CandidateResult[], rung: SearchRung): number[] {
  const standing = results.flatMap((r, i) => (r.outcome === 'pruned' || r.outcome === 'skipped' || r.outcome === 'ruled-out' ? [] : [i]));
  const ranked = [...standing].sort((a, b) => compareCandidates(results[a], results[b]) || a - b);
  const keep = Math.max(1, Math.ceil(rung.keep * standing.length));
  return ranked.slice(keep).filter((i) => results[i].outcome !== 'fit');
}

/** How the validation ranking's leader compared with the cross-validated converged candidate. */
export interface ConvergedPreference {
  leader: number;
  converged: number;
  /** Leader's validation accuracy minus the converged one's. */
  accuracyMargin: number;
  /** Standard error of that difference, paired by validation image. */
  standardError: number;
  /** The winner: the leader only if its margin is more than one standard error. */
  winner: number;
}

/**
 * The winner: the validation ranking's leader, unless it is step-trained and the cross-validated
 * converged candidate trails it by no more than one standard error of the paired difference, in
 * which case the converged one. Why: a step-trained candidate's validation score is the best of
 * its epochs on that same split (an optimistic maximum), a converged fit's is one fit's, whose
 * strength cross-validation chose on the whole training split; and within one standard error the
 * one-standard-error rule (Breiman et al.) takes the simpler model. Only with cross-validation
 * (plan.convergedFolds): without it no converged candidate is marked as chosen, and the leader wins.
 */
export function preferConverged(
  results: readonly CandidateResult[],
  leader: number,
  probabilities: ReadonlyArray<Float32Array | undefined>,
  labels: Int32Array,
  classes: number,
): { winner: number; compared: ConvergedPreference | null } {
  const converged = results.findIndex((r) => r.outcome === 'fit' && r.crossValidation?.chosen);
  const ofLeader = probabilities[leader];
  const ofConverged = probabilities[converged];
  if (converged < 0 || converged === leader || results[leader].settings.optimizer === 'lbfgs' || !ofLeader || !ofConverged) return { winner: leader, compared: null };
  const a = scoreProbabilities(ofLeader, labels, classes).predicted;
  const b = scoreProbabilities(ofConverged, labels, classes).predicted;
  const n = labels.length;
  let sum = 0;
  let squares = 0;
  for (let r = 0; r < n; r++) {
    const d = Number(a[r] === labels[r]) - Number(b[r] === labels[r]);
    sum += d;
    squares += d * d;
  }
  const margin = sum / n;
  const standardError = n > 1 ? Math.sqrt(Math.max(0, squares / n - margin * margin) / (n - 1)) : Infinity;
  const winner = margin > standardError ? leader : converged;
  return { winner, compared: { leader, converged, accuracyMargin: margin, standardError, winner } };
}

/** The best candidate not pruned (a pruned one ranked below the kept ones when pruned, and theirs only got better). */
export function selectWinner(results: readonly CandidateResult[]): number {
  const ranked = results.flatMap((r, i) => (r.outcome !== 'pruned' && r.outcome !== 'skipped' && r.outcome !== 'ruled-out' && r.valAccuracy !== null ? [i] : [])).sort((a, b) => compareCandidates(results[a], results[b]) || a - b);
  if (ranked.length === 0) throw new Error(`no candidate reached a finite validation loss (tried ${results.length})`);
  return ranked[0];
}

function snapshotOf(head: TrainableHead): Snapshot {
  const values = new Map<string, Float32Array>();
  for (const { name, tensor } of head.parameters()) values.set(name, Float32Array.from(tensor.dataSync() as Float32Array));
  return { step: head.step, values };
}

/** The snapshot as a checkpoint's values, the optimizer's slots zero (a restored head is only evaluated and exported). */
function zeroSlots(snapshot: Snapshot, optimizer: ResolvedOptimizerSpec): HeadRestore {
  const values = new Map(snapshot.values);
  const slots = optimizer.kind === 'adam' ? ['m', 'v'] : optimizer.momentum > 0 ? ['velocity'] : [];
  for (const [name, parameter] of snapshot.values) for (const slot of slots) values.set(`${slot}/${name}`, new Float32Array(parameter.length));
  return { step: snapshot.step, values };
}

/** The whole split in memory (normalized and transposed by CosineKnn: twice its float32 size), or undefined once that passes `maxBytes`. */
async function readAll(source: AsyncIterable<FeatureBatch>, dim: number, maxBytes: number, beforeBatch?: () => void): Promise<FeatureBatch | undefined> {
  const features: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let rows = 0;
  for await (const batch of source) {
    beforeBatch?.();
    if (CosineKnn.bytesFor(rows + batch.rows, dim) > maxBytes) return undefined;
    features.push(batch.features.slice(0, batch.rows * dim));
    labels.push(batch.labels.slice(0, batch.rows));
    rows += batch.rows;
  }
  const all = new Float32Array(rows * dim);
  const allLabels = new Int32Array(rows);
  let at = 0;
  features.forEach((part, i) => {
    all.set(part, at * dim);
    allLabels.set(labels[i], at);
    at += labels[i].length;
  });
  return { features: all, labels: allLabels, rows };
}

async function* tap(source: AsyncIterable<FeatureBatch>, use: (batch: FeatureBatch) => void): AsyncGenerator<FeatureBatch> {
  for await (const batch of source) {
    use(batch);
    yield batch;
  }
}

function checkPlan(plan: HeadSearchPlan, options: HeadSearchOptions): void {
  if (plan.candidates.length === 0) throw new RangeError('the search plan has no candidates');
  if (!Number.isInteger(plan.epochs) || plan.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${plan.epochs}`);
  if (!Number.isInteger(plan.patience) || plan.patience < 1) throw new RangeError(`patience must be a positive integer, got ${plan.patience}`);
  for (const rung of plan.rungs) {
    if (!Number.isInteger(rung.epoch) || rung.epoch < 1 || !(rung.keep >= 0 && rung.keep <= 1)) throw new RangeError(`a rung needs a positive epoch and keep in [0, 1], got ${JSON.stringify(rung)}`);
  }
  if (!options.standardization && plan.candidates.some((c) => c.input === 'standardized')) throw new RangeError('standardized candidates need the training split statistics (options.standardization)');
}
