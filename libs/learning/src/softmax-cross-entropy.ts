import * as tf from '@tensorflow/tfjs';

/** Per-sample categorical cross-entropy of softmax(logits), and what its gradient needs. */
export interface CrossEntropyTerms {
  /** log softmax(logits), [rows, classes]. */
  logProbs: tf.Tensor2D;
  /** One-hot labels, [rows, classes]. */
  oneHot: tf.Tensor2D;
  /** −log p(label) per sample, [rows]. */
  nll: tf.Tensor1D;
}

/**
 * Numerically stable: log softmax = z − logSumExp(z) (TF.js subtracts the row maximum first), so
 * huge logits neither overflow nor give log(0). Labels are class indices; two classes are a softmax
 * over two outputs.
 */
export function crossEntropyTerms(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): CrossEntropyTerms {
  const logProbs = tf.sub<tf.Tensor2D>(logits, tf.logSumExp(logits, 1, true));
  const oneHot = tf.cast(tf.oneHot(labels, classes), 'float32') as tf.Tensor2D;
  const nll = tf.neg(tf.sum(tf.mul(oneHot, logProbs), 1)) as tf.Tensor1D;
  return { logProbs, oneHot, nll };
}

/**
 * d(Σᵢ wᵢ·nllᵢ)/d(logits) × factor = (softmax − onehot) · wᵢ · factor. With factor 1/rows that is
 * the gradient of the weighted mean loss (Keras' class_weight reduction: Σ wᵢ·lossᵢ / rows).
 */
export function crossEntropyGradient(terms: CrossEntropyTerms, factor: number, sampleWeights?: tf.Tensor1D): tf.Tensor2D {
  const delta = tf.sub(tf.exp(terms.logProbs), terms.oneHot);
  const weighted = sampleWeights ? tf.mul(delta, tf.expandDims(sampleWeights, 1)) : delta;
  return tf.mul<tf.Tensor2D>(weighted, factor);
}

/** Number of rows whose largest logit is at the label (ties: the first class). */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}
