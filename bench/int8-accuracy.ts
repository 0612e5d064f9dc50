/**
 * bench:extract's accuracy part: the tutorial MLP and logistic regression (L2 chosen on the
 * validation split) trained in this process on fp32 and on int8 features of the same photos, and
 * their accuracy on the evaluation split. The same seed, order and procedure for both precisions,
 * as the trainer runs them (25 epochs of batch 32, SGD with momentum 0.9 and time-based decay;
 * logistic: each L2 of the grid 10 epochs, the lowest validation loss wins).
 */
import { createHead, L2_GRID, selectL2, TUTORIAL_SGD, type HeadKind, type TrainableHead } from '@featx/learning';

export interface SplitFeatures {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
}

export type SplitSet = Record<'training' | 'validation' | 'evaluation', SplitFeatures>;

const EPOCHS = 25;
const BATCH = 32;
const L2_SEARCH_EPOCHS = 10;
const SEED = 42;

export function evaluationAccuracy(kind: HeadKind, splits: SplitSet, classes: number): { accuracy: number; l2?: number } {
  const dim = splits.training.features.length / splits.training.rows;
  let l2: number | undefined;
  if (kind === 'logistic') {
    const losses = L2_GRID.map((candidate) => {
      const head = train(kind, splits.training, dim, classes, candidate, L2_SEARCH_EPOCHS);
      const loss = head.evaluateBatch(splits.validation.features, splits.validation.labels).lossSum;
      head.dispose();
      return loss;
    });
    l2 = selectL2(L2_GRID, losses);
  }
  const head = train(kind, splits.training, dim, classes, l2 ?? 0, EPOCHS);
  const { correct } = head.evaluateBatch(splits.evaluation.features, splits.evaluation.labels);
  head.dispose();
  return { accuracy: correct / splits.evaluation.rows, l2 };
}

function train(kind: HeadKind, split: SplitFeatures, dim: number, classes: number, l2: number, epochs: number): TrainableHead {
  const head = createHead({ kind, inputDim: dim, classes, l2 }, SEED, { ...TUTORIAL_SGD, decay: TUTORIAL_SGD.learningRate / epochs });
  let s = SEED;
  const order = Array.from({ length: split.rows }, (_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += BATCH) {
      const rows = order.slice(start, start + BATCH);
      const features = new Float32Array(rows.length * dim);
      const labels = new Int32Array(rows.length);
      rows.forEach((r, k) => {
        features.set(split.features.subarray(r * dim, (r + 1) * dim), k * dim);
        labels[k] = split.labels[r]!;
      });
      head.trainBatch(features, labels);
    }
  }
  return head;
}
