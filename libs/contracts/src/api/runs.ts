import { z } from 'zod';
import { formatIssues, ValidationError } from '../contract';
import type { Split } from '../messages/datasets';
import type { RunStatus } from '../messages/runs';

/** What the runs endpoints of the admin API return. */

/** The stages of a run, in the order it goes through them (standardizing and choosing-l2 only when asked for). */
export const RUN_STEPS = ['standardizing', 'choosing-l2', 'choosing-head', 'waiting-for-shares', 'training', 'evaluating'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/**
 * The feature store the run's reads wait for: it has not answered since `since` (ISO time), for
 * `reason`. The run asks it again until it answers (FEATX_TRAINER_STORE_WAIT_MS, default without
 * limit); the field goes away once it does.
 */
export const storeWaitSchema = z
  .object({
    store: z.string().min(1),
    since: z.string().datetime({ offset: true }),
    reason: z.string(),
  })
  .strict();
export type StoreWaitView = z.infer<typeof storeWaitSchema>;

/** Work done of `total`, in the step's unit, and the rate rows are read at. */
const stepProgress = {
  done: z.number().int().min(0),
  total: z.number().int().min(0),
  /** Rows read per second in this step so far (training: the last epoch's); null until known. */
  rowsPerSecond: z.number().min(0).nullable(),
  /** Present while the step's reads wait for a feature store that does not answer. */
  waitingFor: storeWaitSchema.optional(),
};

/**
 * What a running run is doing now, as its trainer last recorded it (at most about once a second):
 *
 * - `standardizing`: the statistics pass of `--standardize`, rows of the training split read.
 * - `choosing-l2`: logistic regression's L2 search, `candidates` heads trained together for
 *   `epochs` epochs: rows read of every epoch's pass over the training split plus the final
 *   validation pass; `epoch` is the epoch (1-based) the candidates are in.
 * - `choosing-head`: the `head: auto` search, epochs done of the most any candidate trains;
 *   `candidates` of `of` still training (successive halving and early stopping drop the others).
 * - `waiting-for-shares`: a `head: auto` run split into child runs (searchShares) waits for them:
 *   `done` shares finished of `total`, `training` of them held by a trainer now (its own trainer
 *   trains shares too while it waits).
 * - `training`: the run's own epochs, epochs done of planned (the epochs themselves are in
 *   `epochMetrics`), the last epoch's rows/s.
 * - `evaluating`: the final head on the validation and evaluation splits, rows done.
 *
 * Any step may carry `waitingFor`: the feature store its reads wait for (storeWaitSchema).
 *
 * Null while the run is queued, once it has finished, and while no trainer holds it.
 */
export const runPhaseSchema = z
  .discriminatedUnion('step', [
    z.object({ step: z.literal('standardizing'), unit: z.literal('rows'), ...stepProgress }).strict(),
    z
      .object({
        step: z.literal('choosing-l2'),
        unit: z.literal('rows'),
        ...stepProgress,
        candidates: z.number().int().min(1),
        epoch: z.number().int().min(1),
        epochs: z.number().int().min(1),
      })
      .strict(),
    z
      .object({
        step: z.literal('choosing-head'),
        unit: z.literal('epochs'),
        ...stepProgress,
        candidates: z.number().int().min(0),
        of: z.number().int().min(1),
      })
      .strict(),
    z
      .object({
        step: z.literal('waiting-for-shares'),
        unit: z.literal('shares'),
        ...stepProgress,
        training: z.number().int().min(0),
      })
      .strict(),
    z.object({ step: z.literal('training'), unit: z.literal('epochs'), ...stepProgress }).strict(),
    z.object({ step: z.literal('evaluating'), unit: z.literal('rows'), ...stepProgress }).strict(),
  ])
  .superRefine((phase, ctx) => {
    if (phase.done > phase.total) ctx.addIssue({ code: 'custom', path: ['done'], message: `${phase.done} is more than total (${phase.total})` });
    if (phase.step === 'choosing-l2' && phase.epoch > phase.epochs) ctx.addIssue({ code: 'custom', path: ['epoch'], message: `${phase.epoch} is past epochs (${phase.epochs})` });
  });
export type RunPhase = z.infer<typeof runPhaseSchema>;

/** A run phase checked against runPhaseSchema; what is wrong is named field by field. */
export function parseRunPhase(value: unknown): RunPhase {
  const result = runPhaseSchema.safeParse(value);
  if (!result.success) throw new ValidationError(`run phase: ${formatIssues(result.error)}`);
  return result.data;
}

export interface RunSummary {
  id: string;
  featureSetId: string;
  /** model: a run that trains a model; search-share: a child run training part of a `head: auto` run's grid. */
  kind: 'model' | 'search-share';
  /** The `head: auto` run a search share belongs to; null for model runs. */
  parentRunId: string | null;
  status: RunStatus;
  error: string | null;
  /** The training configuration, defaults filled in (contracts' trainingConfigSchema). */
  config: Record<string, unknown>;
  /** Class names in the order of the labels; empty until the trainer has taken the run. */
  classes: string[];
  /** Epochs planned (config.epochs). */
  epochs: number;
  /** Epochs completed and checkpointed. */
  epochsDone: number;
  bestEpoch: number | null;
  bestValLoss: number | null;
  /** Times the run was resumed after its trainer died. */
  resumes: number;
  cancelRequested: boolean;
  worker: string | null;
  heartbeatAt: string | null;
  /** What the run is doing now (runPhaseSchema); null unless a trainer is working on it. */
  phase: RunPhase | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One epoch, as Keras prints it. */
export interface EpochMetricView {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  durationMs: number;
  rowsPerSecond: number;
  at: string;
}

/** One candidate of a `head: auto` run's search, as its leaderboard shows it. */
export interface RunCandidateView {
  /** Rank by validation accuracy, ties by log loss (the kNN baseline ranks among them). */
  rank: number;
  name: string;
  settings: Record<string, unknown>;
  /**
   * trained, early-stopped, pruned (successive halving), fit (L-BFGS on the whole training split),
   * ruled-out (fit, but another converged candidate scored better in the training split's
   * cross-validation: never the model), skipped (an L-BFGS candidate whose training split was too
   * large to hold) or baseline (the kNN: listed, never the model).
   */
  outcome: 'trained' | 'early-stopped' | 'pruned' | 'fit' | 'ruled-out' | 'skipped' | 'baseline';
  epochsTrained: number;
  bestEpoch: number | null;
  prunedAfter: number | null;
  valAccuracy: number | null;
  valLoss: number | null;
  trainAccuracy: number | null;
  trainLoss: number | null;
  /** A converged candidate's held-out accuracy and log loss in the training split's cross-validation; null otherwise. */
  cvAccuracy: number | null;
  cvLoss: number | null;
  /** A converged candidate fit on a sample of a training split too large to hold: the sample's rows and the split's; null otherwise. */
  sampleRows: number | null;
  splitRows: number | null;
  chosen: boolean;
}

/** One child run of a `head: auto` run split into shares (GET /runs/:id `shares`). */
export interface RunShareView {
  id: string;
  /** 0-based, of the parent's searchShares. */
  index: number;
  status: RunStatus;
  error: string | null;
  /** The trainer holding it (or that held it last). */
  worker: string | null;
  resumes: number;
  /** Candidates it trains (grid positions), its seed, whether it scores the kNN baseline. */
  positions: number[];
  seed: number;
  knn: boolean;
  phase: RunPhase | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RunDetails extends RunSummary {
  /** The epochs finished so far, in order. */
  epochMetrics: EpochMetricView[];
  /** A `head: auto` run's child runs when its search is split (searchShares > 1), by index; empty otherwise. */
  shares?: RunShareView[];
  /** A search share's part of the grid (index, positions, seed); absent for model runs. */
  share?: { index: number; of: number; positions: number[]; seed: number; knn: boolean };
  /** A `head: auto` run's leaderboard, best first; empty for other runs and until its search ends (absent from APIs before it). */
  candidates?: RunCandidateView[];
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** A classification report on one split. */
export interface EvaluationView {
  split: Split;
  accuracy: number;
  loss: number | null;
  perClass: Array<ClassMetrics & { label: string }>;
  macroAvg: ClassMetrics;
  weightedAvg: ClassMetrics;
  /** Rows = true class, columns = predicted, in the run's class order. */
  confusion: number[][];
  /** The report text exactly as sklearn.metrics.classification_report formats it. */
  report: string;
  at: string;
}

export interface RunReport {
  runId: string;
  status: RunStatus;
  classes: string[];
  /** Per split, in the order training, validation, evaluation; empty until the run is evaluated. */
  evaluations: EvaluationView[];
}

/** One held-out image's prediction by a run's final head, as GET /runs/:id/predictions lists them. */
export interface RunImagePrediction {
  imageId: number;
  /** Path of the image relative to its data root. */
  path: string;
  trueClass: string;
  predictedClass: string;
  /** The head's probability of the predicted class. */
  probability: number;
}

/**
 * What a run's trainer published to the namespace's artifacts bucket (JetStream object store):
 * the model folder (`model/...`, all prediction needs) and the report pictures it drew.
 */
export interface RunArtifacts {
  runId: string;
  status: RunStatus;
  /** The object store bucket, `<namespace>-artifacts`; each object is `<runId>/<name>` in it. */
  bucket: string;
  /** Empty until the run has succeeded and published (and for runs trained before publishing existed). */
  artifacts: Array<{ name: string; bytes: number; digest: string }>;
}

export interface QueuedRun {
  commandId: string;
  runId: string;
  type: string;
  status: 'queued';
}

export interface QueuedCancel {
  commandId: string;
  runId: string;
  type: string;
  status: 'queued';
}
