import { FeatureBatch } from './batches';
import { TrainableHead } from './head';
import { UploadedBatch } from './uploaded-batch';
import { recordEpoch, shouldStopEarly } from './early-stopping';

/**
 * Several candidate heads trained on one feature set (the L2 grid, or any other set of choices):
 * each batch is read once and uploaded once, and every candidate takes its step on it before the
 * next batch is read. Reading (and standardizing) a flattened batch, and uploading it, cost far
 * more than a logistic head's step, so five candidates cost little more than one. Each candidate
 * gets exactly the updates it would get trained alone on the same batches in the same order.
 */

/** Where the candidates' batches come from; each pass reads its split once for all of them. */
export interface CandidateSources {
  /** The training split in epoch `epoch`'s order (0-based). */
  training(epoch: number): AsyncIterable<FeatureBatch>;
  /** The validation split; omitted: nothing to validate on. */
  validation?(): AsyncIterable<FeatureBatch>;
}

export interface TrainCandidatesOptions {
  epochs: number;
  /** After which epochs the candidates are validated: every one (default; early stopping needs it), or the last only. */
  validate?: 'every-epoch' | 'last-epoch';
  /** A candidate stops training once its validation loss has not improved for this many epochs, as a run's early stopping does. */
  earlyStoppingPatience?: number;
  classWeights?: Float32Array;
  /** Called before every batch of every pass; what it throws stops the training there (a cancelled run). */
  beforeBatch?: () => void;
  /** Called after every epoch with each candidate's progress, in the order of the heads. */
  onEpoch?: (epoch: number, candidates: readonly CandidateProgress[]) => void | Promise<void>;
}

export interface CandidateProgress {
  /** Epochs trained: fewer than asked once early stopping stopped the candidate. */
  epochsTrained: number;
  /** Mean training loss and accuracy of its last epoch (each batch's taken before its update). */
  trainLoss: number;
  trainAccuracy: number;
  /** Mean cross-entropy and accuracy at its last validation; null until validated. */
  valLoss: number | null;
  valAccuracy: number | null;
  /** The epoch (1-based) of its lowest validation loss so far, and that loss. */
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochsSinceBest: number;
  /** Early stopping ended its training. */
  stopped: boolean;
}

/** Mean loss and accuracy of one head over one pass. */
export interface PassResult {
  loss: number;
  accuracy: number;
  rows: number;
}

/** Trains every head for `options.epochs` epochs on batches read once per epoch for all of them. */
export async function trainCandidates(heads: readonly TrainableHead[], sources: CandidateSources, options: TrainCandidatesOptions): Promise<CandidateProgress[]> {
  checkCandidates(heads, sources, options);
  const progress: CandidateProgress[] = heads.map(() => ({
    epochsTrained: 0,
    trainLoss: Number.NaN,
    trainAccuracy: Number.NaN,
    valLoss: null,
    valAccuracy: null,
    bestEpoch: null,
    bestValLoss: null,
    epochsSinceBest: 0,
    stopped: false,
  }));
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const active = heads.flatMap((_, i) => (progress[i].stopped ? [] : [i]));
    if (active.length === 0) break;
    const activeHeads = active.map((i) => heads[i]);
    const training = await trainCandidatesPass(activeHeads, sources.training(epoch), options);
    if (training[0].rows === 0) throw new RangeError(`the training source gave no rows in epoch ${epoch + 1}`);
    const validates = sources.validation && (options.validate !== 'last-epoch' || epoch === options.epochs - 1);
    const validation = validates ? await evaluateCandidatesPass(activeHeads, sources.validation!(), options) : undefined;
    active.forEach((i, k) => {
      progress[i] = afterEpoch(progress[i], epoch, training[k], validation?.[k], options.earlyStoppingPatience);
    });
    await options.onEpoch?.(epoch, progress);
  }
  return progress;
}

/**
 * The candidates' inputs when they differ (raw, standardized, power-normalized…): each batch read
 * goes through every view once, uploaded once, and the heads of a view take their step on it.
 * Omitted: every head takes the batch as read.
 */
export interface CandidateViews {
  /** The batch as view `i` has it: a new batch (the read one is shared by all views; do not modify it). */
  transforms: ReadonlyArray<(batch: FeatureBatch) => FeatureBatch>;
  /** Per head, in the order of the heads, the index of its view in `transforms`. */
  viewOf: readonly number[];
}

/** One epoch of every head over `source`: one step each per batch, the batch uploaded once (per view). */
export function trainCandidatesPass(
  heads: readonly TrainableHead[],
  source: AsyncIterable<FeatureBatch>,
  options: Pick<TrainCandidatesOptions, 'classWeights' | 'beforeBatch'> & { views?: CandidateViews } = {},
): Promise<PassResult[]> {
  return candidatesPass(heads, source, options.beforeBatch, options.views, (head, batch) => {
    const result = head.trainOn(batch, { classWeights: options.classWeights });
    return { lossSum: result.loss * batch.rows, correct: result.correct };
  });
}

/** Every head's loss (plain cross-entropy) and accuracy over `source`, the batches uploaded once (per view). */
export function evaluateCandidatesPass(
  heads: readonly TrainableHead[],
  source: AsyncIterable<FeatureBatch>,
  options: Pick<TrainCandidatesOptions, 'beforeBatch'> & { views?: CandidateViews } = {},
): Promise<PassResult[]> {
  return candidatesPass(heads, source, options.beforeBatch, options.views, (head, batch) => head.evaluateOn(batch));
}

async function candidatesPass(
  heads: readonly TrainableHead[],
  source: AsyncIterable<FeatureBatch>,
  beforeBatch: (() => void) | undefined,
  views: CandidateViews | undefined,
  step: (head: TrainableHead, batch: UploadedBatch) => { lossSum: number; correct: number },
): Promise<PassResult[]> {
  if (views && views.viewOf.length !== heads.length) throw new RangeError(`views name a view for ${views.viewOf.length} heads, there are ${heads.length}`);
  const transforms = views?.transforms ?? [(batch: FeatureBatch) => batch];
  const headsOfView = transforms.map((_, v) => heads.flatMap((_, i) => ((views?.viewOf[i] ?? 0) === v ? [i] : [])));
  const totals = heads.map(() => ({ lossSum: 0, correct: 0 }));
  let rows = 0;
  for await (const read of source) {
    beforeBatch?.();
    if (read.rows === 0) continue;
    for (let v = 0; v < transforms.length; v++) {
      if (headsOfView[v].length === 0) continue;
      const batch = transforms[v](read);
      // A stream's labels may be a longer buffer than its rows.
      const uploaded = new UploadedBatch(batch.features, batch.labels.subarray(0, batch.rows), heads[0].spec);
      try {
        for (const i of headsOfView[v]) {
          const result = step(heads[i], uploaded);
          totals[i].lossSum += result.lossSum;
          totals[i].correct += result.correct;
        }
      } finally {
        uploaded.dispose();
      }
    }
    rows += read.rows;
  }
  const denominator = Math.max(rows, 1);
  return totals.map((t) => ({ loss: t.lossSum / denominator, accuracy: t.correct / denominator, rows }));
}

/** A candidate's progress after an epoch, with a run's early-stopping rule: improved = a lower validation loss than any before. */
function afterEpoch(before: CandidateProgress, epoch: number, training: PassResult, validation: PassResult | undefined, patience: number | undefined): CandidateProgress {
  const progress = { ...before, epochsTrained: epoch + 1, trainLoss: training.loss, trainAccuracy: training.accuracy };
  if (!validation) return progress;
  const record = recordEpoch(before, epoch, validation.loss);
  return { ...progress, valLoss: validation.loss, valAccuracy: validation.accuracy, ...record, stopped: shouldStopEarly(record, patience) };
}

function checkCandidates(heads: readonly TrainableHead[], sources: CandidateSources, options: TrainCandidatesOptions): void {
  if (heads.length === 0) throw new RangeError('trainCandidates needs at least one head');
  const [first] = heads;
  heads.forEach((head, i) => {
    if (head.spec.inputDim !== first.spec.inputDim || head.spec.classes !== first.spec.classes) {
      throw new RangeError(
        `candidate ${i} has ${head.spec.inputDim} inputs and ${head.spec.classes} classes, candidate 0 ${first.spec.inputDim} and ${first.spec.classes}: candidates share one feature set`,
      );
    }
  });
  if (new Set(heads).size !== heads.length) throw new RangeError('a head appears twice among the candidates (it would take two steps per batch)');
  if (!Number.isInteger(options.epochs) || options.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${options.epochs}`);
  const patience = options.earlyStoppingPatience;
  if (patience !== undefined) {
    if (!Number.isInteger(patience) || patience < 1) throw new RangeError(`earlyStoppingPatience must be a positive integer, got ${patience}`);
    if (!sources.validation) throw new RangeError('earlyStoppingPatience needs a validation source to judge the candidates by');
    if (options.validate === 'last-epoch') throw new RangeError("earlyStoppingPatience needs validate: 'every-epoch' (it judges every epoch)");
  }
}
