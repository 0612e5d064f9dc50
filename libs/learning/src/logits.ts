/**
 * What a batch's logits say, computed in JavaScript (a few values a row): softmax cross-entropy
 * by a stable log-sum-exp, as softmax-cross-entropy.ts, and argmax (ties: the first class, as
 * tf.argMax).
 */
export interface LogitsSummary {
  /** Σ −log p(label). */
  lossSum: number;
  /** Σ wᵢ·(−log p(labelᵢ)) with the rows' class weights (= lossSum without them). */
  weightedLossSum: number;
  correct: number;
  predicted: Int32Array;
}

export function logitsSummary(logits: Float32Array, labels: Int32Array, classes: number, sampleWeights?: Float32Array): LogitsSummary {
  const rows = labels.length;
  const predicted = new Int32Array(rows);
  let lossSum = 0;
  let weightedLossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const row = r * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[row + c] > logits[row + best]) best = c;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - logits[row + best]);
    const nll = logits[row + best] + Math.log(sum) - logits[row + labels[r]];
    predicted[r] = best;
    lossSum += nll;
    weightedLossSum += sampleWeights ? sampleWeights[r] * nll : nll;
    if (best === labels[r]) correct += 1;
  }
  return { lossSum, weightedLossSum, correct, predicted };
}

/** Softmax of each row of `logits` [rows, classes]. */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const probabilities = new Float32Array(logits.length);
  for (let row = 0; row < logits.length; row += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - max);
    for (let c = 0; c < classes; c++) probabilities[row + c] = Math.exp(logits[row + c] - max) / sum;
  }
  return probabilities;
}
