import { checkedRows } from './batch-check';
import type { EvaluateBatchResult, TrainBatchOptions, TrainBatchResult, TrainableHead } from './head';
import { ResolvedHeadSpec } from './head-spec';
import { logitsSummary, softmaxRows } from './logits';
import { NamedTensor } from './named-tensors';
import { OptimizerView, ResolvedOptimizerSpec, decayedLearningRate } from './optimizers';
import type { UploadedBatch } from './uploaded-batch';

/**
 * What the heads of the engines that compute on the rows' Float32Arrays (onnx, onednn) share:
 * they read an uploaded batch's rows rather than its TF.js tensors, and evaluate and predict from
 * their own logits, summarized in JavaScript (a few values a row).
 */
export abstract class RowArrayHead implements TrainableHead {
  abstract readonly spec: ResolvedHeadSpec;
  abstract readonly seed: number;
  abstract readonly optimizer: OptimizerView;
  protected abstract readonly optimizerSpec: ResolvedOptimizerSpec;
  /** Optimizer updates done so far. */
  protected abstract steps: number;
  abstract trainBatch(features: Float32Array, labels: Int32Array, options?: TrainBatchOptions): TrainBatchResult;
  abstract parameters(): NamedTensor[];
  abstract dispose(): void;
  /** Logits [rows, classes] of `rows` rows of `features`, already checked. */
  protected abstract logits(features: Float32Array, rows: number): Float32Array;

  get step(): number {
    return this.steps;
  }

  get learningRate(): number {
    const { learningRate, decay } = this.optimizerSpec;
    return decayedLearningRate(learningRate, decay, this.steps);
  }

  trainOn(batch: UploadedBatch, options: TrainBatchOptions = {}): TrainBatchResult {
    batch.checkFits(this.spec);
    return this.trainBatch(batch.features, batch.labels, options);
  }

  evaluateOn(batch: UploadedBatch): EvaluateBatchResult {
    batch.checkFits(this.spec);
    return this.evaluateBatch(batch.features, batch.labels);
  }

  evaluateBatch(features: Float32Array, labels: Int32Array): EvaluateBatchResult {
    const rows = checkedRows(features, labels, this.spec.inputDim, this.spec.classes);
    const summary = logitsSummary(this.logits(features, rows), labels, this.spec.classes);
    return { lossSum: summary.lossSum, correct: summary.correct, predicted: summary.predicted };
  }

  predictProba(features: Float32Array): Float32Array {
    const rows = checkedRows(features, undefined, this.spec.inputDim, this.spec.classes);
    return softmaxRows(this.logits(features, rows), this.spec.classes);
  }
}
