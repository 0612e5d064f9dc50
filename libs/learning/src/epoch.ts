import { FeatureBatch, limitBatchRows, rebatch } from './batches';
import { TrainBatchResult, TrainableHead } from './head';

export interface EpochProgress {
  batches: number;
  rows: number;
  /** Mean training loss so far (row-weighted), each batch's loss taken before its update. */
  loss: number;
  accuracy: number;
  /** Rows per second of wall time, waiting for the source included. */
  rowsPerSecond: number;
  elapsedMs: number;
  /** Time spent inside trainBatch: elapsedMs − trainMs is time spent waiting for data. */
  trainMs: number;
  /** The batch just trained. */
  batch: TrainBatchResult & { rows: number };
}

export interface TrainEpochOptions {
  /** Rows per optimizer step; incoming batches of other sizes are re-cut. Default 32 (the tutorial). */
  batchSize?: number;
  classWeights?: Float32Array;
  /** Called after every batch; awaited, so it can publish progress or apply back-pressure. */
  onBatch?: (progress: EpochProgress) => void | Promise<void>;
  /** Checked before every batch: once aborted, the epoch stops there. */
  signal?: AbortSignal;
  /** Also checked before every batch: true stops the epoch there. */
  shouldStop?: () => boolean;
}

export interface EpochResult extends Omit<EpochProgress, 'batch'> {
  /** True when the epoch stopped early (signal or shouldStop); the head holds the steps done. */
  aborted: boolean;
}

/** One pass over `source`, one optimizer step per batch of `batchSize` rows. */
export async function trainEpoch(head: TrainableHead, source: AsyncIterable<FeatureBatch>, options: TrainEpochOptions = {}): Promise<EpochResult> {
  const started = performance.now();
  const totals = { batches: 0, rows: 0, lossSum: 0, correct: 0, trainMs: 0 };
  const stopped = () => Boolean(options.signal?.aborted || options.shouldStop?.());
  const summary = () => {
    const elapsedMs = performance.now() - started;
    const rows = Math.max(totals.rows, 1);
    return {
      batches: totals.batches,
      rows: totals.rows,
      loss: totals.lossSum / rows,
      accuracy: totals.correct / rows,
      rowsPerSecond: elapsedMs > 0 ? (totals.rows * 1000) / elapsedMs : 0,
      elapsedMs,
      trainMs: totals.trainMs,
    };
  };

  let aborted = stopped();
  if (!aborted) {
    for await (const batch of rebatch(source, options.batchSize ?? 32)) {
      if (stopped()) {
        aborted = true;
        break;
      }
      const before = performance.now();
      const result = head.trainBatch(batch.features, batch.labels, { classWeights: options.classWeights });
      totals.trainMs += performance.now() - before;
      totals.batches += 1;
      totals.rows += batch.rows;
      totals.lossSum += result.loss * batch.rows;
      totals.correct += result.correct;
      await options.onBatch?.({ ...summary(), batch: { ...result, rows: batch.rows } });
    }
  }
  return { ...summary(), aborted };
}

/** Values per evaluation forward pass by default: 16 MB of features (41 flattened rows, 3,276 pooled). */
const EVALUATION_BATCH_VALUES = 1 << 22;

export interface EvaluateOptions {
  /**
   * Rows per forward pass at most (larger incoming batches are split). Default: 16 MB of features,
   * so that evaluation does not grow the wasm heap, which never shrinks, beyond what training needs.
   */
  maxBatchRows?: number;
  signal?: AbortSignal;
}

export interface EvaluationResult {
  /** Mean cross-entropy (no class weights, no L2 penalty). */
  loss: number;
  accuracy: number;
  rows: number;
  /** Predicted and true class per row, in the source's order. */
  predicted: Int32Array;
  truth: Int32Array;
}

/** Loss, accuracy and predictions over a whole split, without updating the head. */
export async function evaluate(head: TrainableHead, source: AsyncIterable<FeatureBatch>, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  let predicted: Int32Array = new Int32Array(1024);
  let truth: Int32Array = new Int32Array(1024);
  let rows = 0;
  let lossSum = 0;
  let correct = 0;
  const maxRows = options.maxBatchRows ?? Math.max(1, Math.floor(EVALUATION_BATCH_VALUES / head.spec.inputDim));
  for await (const batch of limitBatchRows(source, maxRows)) {
    options.signal?.throwIfAborted();
    const labels = batch.labels.subarray(0, batch.rows);
    const result = head.evaluateBatch(batch.features, labels);
    if (rows + batch.rows > predicted.length) {
      const capacity = Math.max(predicted.length * 2, rows + batch.rows);
      predicted = grow(predicted, capacity);
      truth = grow(truth, capacity);
    }
    predicted.set(result.predicted, rows);
    truth.set(labels, rows);
    rows += batch.rows;
    lossSum += result.lossSum;
    correct += result.correct;
  }
  const denominator = Math.max(rows, 1);
  return { loss: lossSum / denominator, accuracy: correct / denominator, rows, predicted: predicted.slice(0, rows), truth: truth.slice(0, rows) };
}

function grow(values: Int32Array, capacity: number): Int32Array {
  const larger = new Int32Array(capacity);
  larger.set(values);
  return larger;
}
